"""Save a pickled model, killing this process (SIGKILL) at one step of the save.

``python tests/_killed_save.py MODEL.pkl FOLDER STEP``: STEP is "weights"
(the weights written, not the configuration), "config" (both written, before
the renames), "between" (the old save renamed away, the new one not yet in
its place) or "cleanup" (the new save in place, the old one not yet deleted).
"""

import os
import pickle
import shutil
import signal
import sys
from pathlib import Path

from sk_dim import _persistence


def die(*args, **kwargs):
    os.kill(os.getpid(), signal.SIGKILL)


def main() -> None:
    model_path, folder, step = sys.argv[1:]
    with open(model_path, "rb") as file:
        model = pickle.load(file)
    if step == "weights":
        _persistence.write_config = die
    elif step == "config":
        _persistence.replace_folder = die
    elif step == "between":
        rename = Path.rename

        def rename_then_die(self, target):
            if ".saving-" in self.name:  # the second rename
                die()
            return rename(self, target)

        Path.rename = rename_then_die
    elif step == "cleanup":
        shutil.rmtree = die
    model.save(folder)


if __name__ == "__main__":
    main()
