"""The skorch net of each model, and the function that builds it from the parameters."""
