"""Every public class and function has a complete numpydoc docstring with Examples.

The Examples sections run as doctests (``--doctest-modules``); ``make docs``
applies the same checks while it builds the API reference.
"""

import importlib
import inspect
import pkgutil

import pytest

import sk_dim

numpydoc_validate = pytest.importorskip("numpydoc.validate")

# no docstring, undocumented or unknown parameters, no Returns, no Examples
CHECKS = {"GL08", "PR01", "PR02", "RT01", "EX01"}


def public_objects():
    yield "sk_dim", sk_dim
    for module_info in pkgutil.walk_packages(sk_dim.__path__, "sk_dim."):
        if not any(part.startswith("_") for part in module_info.name.split(".")):
            yield module_info.name, importlib.import_module(module_info.name)


PUBLIC = sorted(
    f"{module_name}.{name}"
    for module_name, module in public_objects()
    for name in getattr(module, "__all__", [])
    if inspect.isclass(getattr(module, name))
    or inspect.isfunction(getattr(module, name))
)


def test_every_public_module_lists_its_names():
    for module_name, module in public_objects():
        assert hasattr(module, "__all__"), f"{module_name} has no __all__"
    assert len(PUBLIC) > 60


@pytest.mark.parametrize("qualified_name", PUBLIC)
def test_docstring_is_complete(qualified_name):
    report = numpydoc_validate.validate(qualified_name)
    errors = [
        f"{code}: {message}" for code, message in report["errors"] if code in CHECKS
    ]
    assert not errors, f"{qualified_name}:\n" + "\n".join(errors)
