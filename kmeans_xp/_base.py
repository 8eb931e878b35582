"""Estimator plumbing: parameters, repr, and scikit-learn integration.

When scikit-learn is installed the estimators derive from its
``BaseEstimator`` (so ``clone``, ``Pipeline``, ``GridSearchCV`` and
``check_estimator`` see a native estimator); without it, a small base with
the same ``get_params`` / ``set_params`` / ``repr`` behaviour is used and the
package imports and works all the same.
"""

from __future__ import annotations

import inspect
from typing import Any

__all__ = [
    "HAVE_SKLEARN",
    "BaseEstimator",
    "ClusterMixin",
    "ConvergenceWarningBase",
    "NotFittedErrorBase",
    "TransformerMixin",
]

try:  # pragma: no cover - exercised in both configurations by the tests
    from sklearn.base import BaseEstimator, TransformerMixin
    from sklearn.base import ClusterMixin as _SklearnClusterMixin
    from sklearn.exceptions import ConvergenceWarning as ConvergenceWarningBase
    from sklearn.exceptions import NotFittedError as NotFittedErrorBase

    HAVE_SKLEARN = True

    class ClusterMixin(_SklearnClusterMixin):
        """scikit-learn's ClusterMixin, with the tags of an Array API estimator.

        The estimators take arrays of any Array API library natively and return
        results in the input's namespace and device, so they declare
        ``array_api_support`` (scikit-learn's ``check_array_api_input`` checks it),
        and sparse samples (scipy.sparse, torch CSR: ``input_tags.sparse``).
        """

        def __sklearn_tags__(self) -> Any:
            tags = super().__sklearn_tags__()
            tags.array_api_support = True
            tags.input_tags.sparse = True
            return tags
except ImportError:  # pragma: no cover
    HAVE_SKLEARN = False

    class NotFittedErrorBase(ValueError, AttributeError):  # type: ignore[no-redef]
        """Base of kmeans_xp's NotFittedError when scikit-learn is absent."""

    class ConvergenceWarningBase(UserWarning):  # type: ignore[no-redef]
        """Base of kmeans_xp's ConvergenceWarning when scikit-learn is absent."""

    class BaseEstimator:  # type: ignore[no-redef]
        """get_params / set_params / repr from the ``__init__`` signature."""

        @classmethod
        def _get_param_names(cls) -> list[str]:
            sig = inspect.signature(cls.__init__)
            return sorted(
                p.name
                for p in sig.parameters.values()
                if p.name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
            )

        def get_params(self, deep: bool = True) -> dict[str, Any]:
            return {name: getattr(self, name) for name in self._get_param_names()}

        def set_params(self, **params: Any) -> BaseEstimator:
            valid = self._get_param_names()
            for key, value in params.items():
                if key not in valid:
                    raise ValueError(
                        f"Invalid parameter {key!r} for estimator {type(self).__name__}; "
                        f"valid parameters are {valid}"
                    )
                setattr(self, key, value)
            return self

        def __repr__(self) -> str:
            # as scikit-learn: the parameters that differ from their defaults,
            # in alphabetical order
            sig = inspect.signature(type(self).__init__)
            changed = []
            for name, p in sorted(sig.parameters.items()):
                if name == "self" or not hasattr(self, name):
                    continue
                value = getattr(self, name)
                default = p.default
                same = value is default
                if not same:
                    try:
                        same = bool(value == default) and type(value) is type(default)
                    except Exception:
                        same = False
                if not same:
                    changed.append(f"{name}={value!r}")
            return f"{type(self).__name__}({', '.join(changed)})"

    class ClusterMixin:  # type: ignore[no-redef]
        _estimator_type = "clusterer"

    class TransformerMixin:  # type: ignore[no-redef]
        pass
