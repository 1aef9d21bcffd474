"""Input preparation: from what the user passes to validated tensors."""
