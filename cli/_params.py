"""Typer's parameter coercion without pydantic for the values ``rad`` usually gets.

Typer (0.2x) coerces every parameter value through a pydantic ``TypeAdapter``, built when a
command first reads a parameter: importing pydantic and building the adapter cost ~55 ms of
a ``rad stats`` process that otherwise takes ~150 ms. `install` gives typer's parameters a
coercion that handles the plain cases the way the adapter does (a string for ``str``, ASCII
digits within bounds for ``int``, a ``Path`` through typer's own path checks, an ``Enum``
through typer's own choice matching) and hands
every other value, and every other annotation, to typer's adapter unchanged. So values,
error messages and exit codes are typer's own (a test compares them), and pydantic is only
imported when a value needs it.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any

__all__ = ["install"]


def install() -> bool:
    """Route typer's parameter coercion through `_lean`; False when this typer differs."""
    try:
        from typer import _coercion, _param_types, core
    except ImportError:
        return False
    base = getattr(core, "_TyperParameter", None)
    if base is None or not hasattr(base, "get_runtime_param") or getattr(base, "_rad", False):
        return False
    runtime_param: Any = getattr(_coercion, "RuntimeParam", None)
    build: Any = getattr(_coercion, "build_runtime_param", None)
    coerce_path: Any = getattr(_param_types, "coerce_cli_path", None)
    coerce_choice: Any = getattr(_param_types, "coerce_cli_choice", None)
    if runtime_param is None or build is None or coerce_path is None or coerce_choice is None:
        return False

    @dataclass(frozen=True)
    class _Lean(runtime_param):  # type: ignore[misc]
        """Plain values here; anything else through typer's own coercion, built when needed
        (typer calls this only for a value given: none, or no values, never reach here).
        """

        descriptor: Any
        plain: bool
        full: list[Any]

        def _coerce_value(self, value: Any, param: Any, ctx: Any) -> Any:
            annotation, info = self.annotation, self.parameter_info
            if self.plain and isinstance(annotation, type) and issubclass(annotation, Enum):
                try:
                    return coerce_choice(
                        value,
                        choices=tuple(annotation),
                        case_sensitive=info.case_sensitive,
                        ctx=ctx,
                    )
                except ValueError:
                    pass  # (typer's adapter words the error)
            elif self.plain:
                kind = type(value)
                if annotation is str and kind is str:
                    return value
                if annotation == list[str] and kind in (list, tuple):
                    if all(type(item) is str for item in value):
                        return list(value)
                if annotation is int and (
                    kind is int or (kind is str and value.isascii() and value.isdigit())
                ):
                    number = int(value)
                    if (info.min is None or number >= info.min) and (
                        info.max is None or number <= info.max
                    ):
                        return number
                elif annotation is Path and (kind is str or isinstance(value, Path)):
                    path = value if isinstance(value, Path) else Path(value)
                    return coerce_path(path, info, path_type=Path, param=param, ctx=ctx)
            if not self.full:
                self.full.append(build(self.descriptor))
            return self.full[0]._coerce_value(value, param=param, ctx=ctx)

    def get_runtime_param(self: Any) -> Any:
        if self._runtime_param is None:
            d = self.type_descriptor
            self._runtime_param = _Lean(d.parameter_info, d.annotation, d, _plain(d), [])
        return self._runtime_param

    base.get_runtime_param = get_runtime_param
    base._rad = True
    return True


def _plain(descriptor: Any) -> bool:
    """Whether the parameter is a ``str``, ``list[str]``, ``int``, ``Path`` or ``Enum`` with no
    parser of its own (what `_Lean` may handle; it still hands over odd values).
    """
    info = descriptor.parameter_info
    annotation = descriptor.annotation
    if descriptor.file_annotation is not None or getattr(info, "parser", None) is not None:
        return False
    if annotation is int:
        return not getattr(info, "clamp", False)
    if annotation is Path:
        return getattr(info, "path_type", None) in (None, Path)
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        return True
    return annotation is str or annotation == list[str]
