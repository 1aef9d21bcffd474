"""
Fitting on a folder of image files
==================================

Images often come as files in folders, one folder per class. A
``torch.utils.data.Dataset`` that decodes one file per item, read through a
``DataLoader`` whose workers decode in parallel, is passed to ``fit`` and
``transform`` as it is: sk_dim reads it batch by batch and never needs the
whole data set in memory. The labels that the folders give stay out of the
fit and serve only the probe at the end.
"""

import shutil
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from PIL import Image
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_val_predict
from torch.utils.data import DataLoader, Dataset

from sk_dim import DeepInfoMaxTransformer

# %%
# A folder of PNG files, as a user's data would arrive: here, the digits
# scaled to 16 x 16 pixels, one sub-folder per digit.

folder = Path(tempfile.mkdtemp())
X, y = load_digits(return_X_y=True)
for index, (pixels, label) in enumerate(zip(X, y, strict=True)):
    image = Image.fromarray((pixels.reshape(8, 8) * 255 / 16).astype(np.uint8))
    (folder / str(label)).mkdir(exist_ok=True)
    image.resize((16, 16)).save(folder / str(label) / f"{index}.png")


class ImageFiles(Dataset):
    """The grayscale images of a folder's files as uint8 arrays, no labels."""

    def __init__(self, paths):
        self.paths = paths

    def __len__(self):
        return len(self.paths)

    def __getitem__(self, index):
        return np.array(Image.open(self.paths[index]).convert("L"))


paths = sorted(folder.glob("*/*.png"))
labels = np.array([int(path.parent.name) for path in paths])
files = ImageFiles(paths)

# %%
# Two workers decode the files while the model trains; the loader shuffles
# for training and keeps the order for ``transform``.

training = DataLoader(files, batch_size=64, shuffle=True, num_workers=2)
dim = DeepInfoMaxTransformer(max_epochs=10, random_state=0).fit(training)
codes = dim.transform(DataLoader(files, batch_size=256, num_workers=2))
predicted = cross_val_predict(LogisticRegression(max_iter=1000), codes, labels)
print(f"{len(files)} files; linear probe accuracy {np.mean(predicted == labels):.3f}")

figure, axes = plt.subplots(2, 8, figsize=(10, 3))
shown = np.linspace(0, len(files) - 1, 16, dtype=int)
for axis, index in zip(axes.flat, shown, strict=True):
    axis.imshow(files[index], cmap="gray_r")
    axis.set_title(f"{labels[index]} as {predicted[index]}", fontsize=9)
    axis.set_axis_off()
figure.suptitle("Files of the folder, their folder and the probe's class")
plt.show()

shutil.rmtree(folder)
