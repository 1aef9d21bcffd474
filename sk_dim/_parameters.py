"""The training parameters that every estimator takes: constraints and docstring.

An estimator lists them in its ``__init__``, declares
:data:`TRAINING_CONSTRAINTS` among its parameter constraints, and marks the
place of their entries in its docstring with :data:`MARKER`;
:func:`document_training_parameters` writes them there, with the defaults of
its signature and its own notes. :class:`ParameterValidation` validates
the parameters as scikit-learn does, and refuses bools for numbers.
"""

from __future__ import annotations

import inspect
import textwrap
from collections.abc import Callable
from numbers import Integral, Real

import torch
from sklearn.utils._param_validation import Interval, InvalidParameterError, StrOptions

from ._training.devices import PRECISIONS

#: Constraints of the training parameters.
TRAINING_CONSTRAINTS = {
    "lr": [Interval(Real, 0, None, closed="neither")],
    "lr_schedule": [StrOptions({"cosine", "constant"})],
    "batch_size": [Interval(Integral, 2, None, closed="left")],
    "max_epochs": [Interval(Integral, 1, None, closed="left")],
    "max_time": [None, Interval(Real, 0, None, closed="neither")],
    "tol": [Interval(Real, 0, None, closed="left")],
    "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
    "early_stopping": ["boolean"],
    "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
    "chunk_size": [None, Interval(Integral, 1, None, closed="left")],
    "callbacks": [None, list],
    "warm_start": ["boolean"],
    "device": [str, torch.device],
    "compile": ["boolean"],
    "precision": [StrOptions(set(PRECISIONS) | {"auto"})],
    "random_state": ["random_state"],
    "verbose": ["verbose"],
}

#: The line of a docstring that the training parameters' entries replace.
MARKER = "<training parameters>"

#: Type and description of each training parameter; ``{betas}``,
#: ``{watched}``, ``{seeded}`` and ``{precision_auto}`` are the estimator's.
_ENTRIES = {
    "lr": ("float", "Learning rate of Adam (betas {betas}) for all networks."),
    "lr_schedule": (
        '{{"cosine", "constant"}}',
        '"cosine" anneals the learning rate to zero along a cosine over the '
        'steps of the fit (or over ``max_time``); "constant" keeps ``lr`` '
        "throughout.",
    ),
    "batch_size": (
        "int",
        "Samples per training step. Clipped, with a warning, to the training "
        "samples when there are fewer.",
    ),
    "max_epochs": ("int", "Most passes over the training data."),
    "max_time": (
        "float or None",
        "Most seconds of training, counted from the first step; the fit stops "
        "within the epoch where they run out (which counts in ``n_iter_``), "
        'and the "cosine" schedule is spread over the time, or over '
        "``max_epochs`` if they end first. None: no time limit.",
    ),
    "tol": (
        "float",
        "Smallest decrease of the epoch's mean training loss (or increase of "
        "the {watched} with ``early_stopping``) that counts as progress.",
    ),
    "n_iter_no_change": (
        "int",
        "Training stops after this many epochs in a row without progress. A "
        "fit that runs all ``max_epochs`` and still made progress in its last "
        "epoch warns with a ``ConvergenceWarning``.",
    ),
    "early_stopping": (
        "bool",
        "Hold out ``validation_fraction`` of the training data, watch the "
        "{watched} on it instead of the training loss, and keep the weights "
        "of the epoch where it was highest.",
    ),
    "validation_fraction": (
        "float",
        "Share of the training data held out with ``early_stopping``.",
    ),
    "chunk_size": (
        "int or None",
        "Rows read at a time from out-of-core X (a memmap, an HDF5 or zarr "
        "array, a torch Dataset or DataLoader): training shuffles the order "
        "of the chunks and the rows within each, and the input scaling is "
        "learnt from a random sample of this many rows; the next chunk is "
        "read in a background thread while one trains. None reads about 256 "
        "MB at a time. Arrays in memory are used whole.",
    ),
    "callbacks": (
        "list of skorch callbacks or (name, callback) pairs",
        "Extra callbacks of the training loop (see :mod:`skorch.callbacks`), "
        "for example to log to TensorBoard, or skorch's "
        "``GradientNormClipping`` (``on_grad_computed`` is called after each "
        "backward pass, with float16's scaling undone). Each fit uses copies, "
        "so the callbacks passed are never changed; the fitted copies are in "
        "``net_.callbacks_``.",
    ),
    "warm_start": (
        "bool",
        "When True, ``fit`` trains the fitted model on: its weights, "
        "optimiser state, ``n_iter_`` and ``loss_curve_`` carry over, and the "
        "call runs up to ``max_epochs`` more epochs with a schedule and "
        "stopping rule of its own. The parameters that the networks are "
        "built from must be those of the fitted model. False fits a new model "
        "at each call, as does the first call.",
    ),
    "device": (
        "str or torch.device",
        'Where to train: "auto" picks CUDA when available, else the CPU.',
    ),
    "compile": (
        "bool",
        "Compile each training step (forward pass and loss) with "
        "``torch.compile``. The first steps then take longer (tens of "
        "seconds on a CPU) and the following ones run faster, which pays off "
        "in long fits. If compilation fails, a warning says why and the fit "
        "goes on uncompiled.",
    ),
    "precision": (
        '{{"auto", "32", "bf16", "16-mixed"}}',
        'Arithmetic of the training steps: "32" float32; "bf16" bfloat16 '
        "autocast (on the CPU too, where it is faster on processors with "
        'native bfloat16 instructions); "16-mixed" float16 autocast with a '
        "gradient scaler (CUDA only). {precision_auto} The chosen one is "
        "``precision_``. ``transform`` and ``score`` compute in float32.",
    ),
    "random_state": (
        "int, RandomState instance or None",
        "Seeds {seeded}. With an int, fits on the CPU are reproducible. The "
        "global torch random state is left untouched.",
    ),
    "verbose": (
        "int",
        "0 is silent. 1 shows a progress bar with the loss of the latest "
        "steps and, after each epoch, the epoch's mean loss and held-out "
        "score. 2 also writes a line per epoch (loss, held-out score, "
        'seconds) above the bar and logs it to the "sk_dim" logger at INFO '
        "level.",
    ),
}


#: What precision="auto" stands for, unless an estimator says otherwise.
BFLOAT16_ON_CUDA = (
    '"auto" is "bf16" on CUDA devices that support it and "32" elsewhere.'
)


def _default(value) -> str:
    return f'"{value}"' if isinstance(value, str) else repr(value)


def training_parameters_doc(
    estimator: type, notes: dict[str, str], types: dict[str, str], **fields: str
) -> str:
    """The docstring entries of the training parameters of ``estimator``.

    Parameters
    ----------
    estimator : type
        The estimator class, whose ``__init__`` gives the defaults.
    notes : dict
        Sentences appended to the description of a parameter.
    types : dict
        Types that replace the shared one of a parameter.
    **fields : str
        ``betas``, ``watched``, ``seeded`` and (by default
        :data:`BFLOAT16_ON_CUDA`) ``precision_auto`` of the descriptions.

    Returns
    -------
    str
        numpydoc entries, unindented.
    """
    defaults = inspect.signature(estimator.__init__).parameters
    fields = {"precision_auto": BFLOAT16_ON_CUDA, **fields}
    entries = []
    for name, (kind, description) in _ENTRIES.items():
        kind = types.get(name, kind.format(**fields))
        text = " ".join([description.format(**fields), *notes.get(name, "").split()])
        entries.append(f"{name} : {kind}, default={_default(defaults[name].default)}")
        entries += textwrap.wrap(
            text, width=72, initial_indent="    ", subsequent_indent="    "
        )
    return "\n".join(entries)


def document_training_parameters(
    notes: dict[str, str] | None = None,
    types: dict[str, str] | None = None,
    **fields: str,
) -> Callable[[type], type]:
    """Class decorator writing the training parameters' entries at :data:`MARKER`.

    See :func:`training_parameters_doc` for the arguments.
    """

    def decorate(estimator: type) -> type:
        lines = estimator.__doc__.splitlines()
        (at,) = [i for i, line in enumerate(lines) if line.strip() == MARKER]
        indent = lines[at][: len(lines[at]) - len(lines[at].lstrip())]
        doc = training_parameters_doc(estimator, notes or {}, types or {}, **fields)
        lines[at : at + 1] = textwrap.indent(doc, indent).splitlines()
        estimator.__doc__ = "\n".join(lines)
        return estimator

    return decorate


def store_parameters(estimator, arguments: dict) -> None:
    """Set each argument of ``__init__`` as the attribute of its name.

    ``arguments`` is the ``locals()`` of ``__init__``, ``self`` included;
    scikit-learn's contract is that ``__init__`` does nothing else.
    """
    for name, value in arguments.items():
        if name != "self":
            setattr(estimator, name, value)


class ParameterValidation:
    """A mixin of the estimators: scikit-learn's validation of parameters, stricter.

    scikit-learn takes ``True`` for the number 1; an estimator of sk_dim
    refuses a bool where its constraints ask for a number.
    """

    def _validate_params(self) -> None:
        """scikit-learn's validation, which also refuses bools for numbers."""
        super()._validate_params()
        for name, constraints in self._parameter_constraints.items():
            value = getattr(self, name)
            numeric = any(isinstance(c, Interval) for c in constraints)
            if isinstance(value, bool) and numeric and "boolean" not in constraints:
                raise InvalidParameterError(
                    f"The {name!r} parameter of {type(self).__name__} must be a "
                    f"number, not a bool. Got {value!r} instead."
                )
