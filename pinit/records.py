"""`@dataclass` for pinit's records, without the cost the stdlib's pays at import.

Why: `pinit --config` defines ~35 record classes on its start path. The stdlib's
`dataclasses` imports `inspect` (with ast, dis, tokenize: ~5 ms) and compiles ~6 generated
methods per class from source text (~210 `exec` calls, ~15-25 ms): together about a third of
PID 1's time from exec to its first program (issue 7, speed: launch <= 50 ms). Here only
`__init__` is generated, with one `compile` per class; `__eq__`, `__hash__`, `__repr__` and
the frozen `__setattr__` are shared functions reading the class's field names.

What is supported is what pinit uses, and anything else fails at import, loudly: `frozen`,
`slots`, fields with a default, `field(default=..., default_factory=..., compare=...)`,
`ClassVar` annotations (skipped), `__post_init__`. Semantics follow the stdlib's (the
generated methods, the hash rules, the mutable-default and ordering errors), and each class
still answers `dataclasses.fields()` / `dataclasses.replace()` / `dataclasses.asdict()`:
its `__dataclass_fields__` is built from the stdlib's own Field objects on first use, so
only code that asks pays for importing `dataclasses`. `replace()` here is the cheap spelling.
"""

from __future__ import annotations

from collections.abc import Callable
from operator import attrgetter
from types import CellType, CodeType, FunctionType

TYPE_CHECKING = False  # typing's, without importing typing at run time (issue 7, start)
if TYPE_CHECKING:
    from typing import Any, TypeVar, dataclass_transform, overload

    _T = TypeVar("_T")


__all__ = ["FrozenInstanceError", "dataclass", "field", "replace"]


class _Missing:
    __slots__ = ()

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()


class FrozenInstanceError(AttributeError):
    """Assigning to a frozen record's field (the stdlib's is also an AttributeError)."""


class Field:
    """One field: its name, annotation (a string: pinit modules use postponed annotations),
    default or default factory, and whether it takes part in ==, hash and repr."""

    __slots__ = ("compare", "default", "default_factory", "name", "type")

    def __init__(self, default: Any, default_factory: Any, compare: bool) -> None:
        if default is not MISSING and default_factory is not MISSING:
            raise ValueError("cannot specify both default and default_factory")
        self.name = ""
        self.type: object = None
        self.default = default
        self.default_factory = default_factory
        self.compare = compare


def field(*, default: Any = MISSING, default_factory: Any = MISSING, compare: bool = True) -> Any:
    """A field with a default, a default factory, or left out of ==, hash and repr."""
    return Field(default, default_factory, compare)


if TYPE_CHECKING:  # the signatures for type checkers; at run time, the one below

    @overload
    @dataclass_transform(field_specifiers=(field,))
    def dataclass(cls: type[_T], /) -> type[_T]: ...

    @overload
    @dataclass_transform(field_specifiers=(field,))
    def dataclass(
        *, frozen: bool = False, slots: bool = False
    ) -> Callable[[type[_T]], type[_T]]: ...


def dataclass(
    cls: type[_T] | None = None, /, *, frozen: bool = False, slots: bool = False
) -> type[_T] | Callable[[type[_T]], type[_T]]:
    """The stdlib's `@dataclass` restricted to `frozen` and `slots` (eq=True, init=True,
    repr=True as there); any other option is a TypeError at import."""

    def wrap(klass: type[_T]) -> type[_T]:
        return _process(klass, frozen, slots)

    return wrap if cls is None else wrap(cls)


def replace(obj: _T, /, **changes: Any) -> _T:
    """A copy of a record with some fields changed, as `dataclasses.replace`.

    Every field is read at once by a C-level attrgetter and passed by position: the model
    replaces an Instance (25 fields) about 28 times a crash-restart, and a dict of every field
    passed as keywords made this the largest part of the model's step (issue 7: restart)."""
    cls = type(obj)
    values = cls.__record_values__(obj)  # type: ignore[attr-defined]
    if changes:
        values = list(values)
        index: dict[str, int] = cls.__record_index__  # type: ignore[attr-defined]
        for name, value in changes.items():
            at = index.get(name)
            if at is None:
                unknown = sorted(set(changes) - set(index))
                raise TypeError(f"{cls.__name__} has no field(s) {', '.join(unknown)}")
            values[at] = value
    return cls(*values)


def _is_classvar(annotation: object) -> bool:
    text = annotation if isinstance(annotation, str) else getattr(annotation, "__name__", "")
    return isinstance(text, str) and text.partition("[")[0] in ("ClassVar", "typing.ClassVar")


def _fields(cls: type) -> list[Field]:
    out: list[Field] = []
    for base in reversed(cls.__mro__[1:]):
        if "__record_fields__" in base.__dict__ or "__dataclass_fields__" in base.__dict__:
            raise TypeError(f"{cls.__name__}: records do not inherit fields (use dataclasses)")
    # not inspect.get_annotations: importing inspect is part of what this module avoids
    for name, annotation in cls.__dict__.get("__annotations__", {}).items():  # noqa: RUF063
        if _is_classvar(annotation):
            continue
        if isinstance(annotation, str) and annotation.partition("[")[0].endswith("InitVar"):
            raise TypeError(f"{cls.__name__}.{name}: InitVar is not supported here")
        value = cls.__dict__.get(name, MISSING)
        spec = value if isinstance(value, Field) else Field(value, MISSING, True)
        spec.name, spec.type = name, annotation
        if spec.default is not MISSING and type(spec.default).__hash__ is None:
            raise ValueError(
                f"mutable default {type(spec.default)} for field {name} is not allowed: "
                "use default_factory"
            )
        out.append(spec)
    seen_default = ""
    for spec in out:
        if spec.default is not MISSING or spec.default_factory is not MISSING:
            seen_default = spec.name
        elif seen_default:
            raise TypeError(f"non-default argument {spec.name!r} follows default argument")
    return out


_TEMPLATES: dict[tuple[int, bool, bool], CodeType] = {}
_FREE = ("_MISSING", "_factories", "_set")


def _template(count: int, frozen: bool, post_init: bool) -> CodeType:
    """The `__init__` for `count` fields named _f0, _f1, ...: one per shape (18 in pinit)
    instead of one per class; `_init` renames it for each class. pinit's own shapes come
    precompiled from `recordinit.py` (bytecode in the package and the frozen archive): a
    compile per shape cost 3.7 ms of every start (issue 7: launch). Any other is compiled."""
    key = (count, frozen, post_init)
    code = _TEMPLATES.get(key)
    if code is None:
        from pinit.recordinit import TEMPLATES

        make = TEMPLATES.get(key)
        if make is None:
            namespace: dict[str, Any] = {}
            exec(template_source(*key), {"Any": object}, namespace)  # placeholder names
            make = namespace[template_name(*key)]
        code = make(MISSING, (), None).__code__
        _TEMPLATES[key] = code
    return code


def template_name(count: int, frozen: bool, post_init: bool) -> str:
    return f"_make_{count}" + ("_frozen" if frozen else "") + ("_post" if post_init else "")


def template_source(count: int, frozen: bool, post_init: bool) -> str:
    """The source of one shape's template: one line per field, parameters wrapped at 100
    columns (recordgen writes these into recordinit.py, which the formatter leaves alone so
    that 153 fields stay about 300 lines instead of 800)."""
    name = template_name(count, frozen, post_init)
    lines = [f"def {name}({', '.join(f'{free}: Any' for free in _FREE)}) -> Any:"]
    params = ["self: Any", *(f"_f{i}: Any" for i in range(count))]
    one_line = f"    def __init__({', '.join(params)}) -> None:"
    if len(one_line) <= 100:
        lines.append(one_line)
    else:
        lines.append("    def __init__(")
        row = ""
        for param in params:
            if row and len(row) + len(param) + 1 > 100:  # the row's trailing space goes
                lines.append(row.rstrip())
                row = ""
            row = (row or "        ") + param + ", "
        lines += [row.rstrip(), "    ) -> None:"]
    for i in range(count):
        value = f"_factories[{i}]() if _f{i} is _MISSING else _f{i}"
        lines.append(
            f'        _set(self, "_f{i}", {value})' if frozen else f"        self._f{i} = {value}"
        )
    if post_init:
        lines.append("        self.__post_init__()")
    elif not count:
        lines.append("        pass")
    lines.append("")
    lines.append("    return __init__")
    return "\n".join(lines) + "\n"


def _init(cls: type, fields: list[Field], frozen: bool) -> Callable[..., None]:
    """`__init__` with the real signature (positional or keyword, defaults), made from the
    template of its shape by renaming its parameters and the attribute names it sets."""
    names = [spec.name for spec in fields]
    clash = {"self", *_FREE} & set(names)
    if clash:
        raise TypeError(f"{cls.__name__}: field name(s) {sorted(clash)} not supported here")
    template = _template(len(fields), frozen, "__post_init__" in cls.__dict__)
    rename = {f"_f{i}": name for i, name in enumerate(names)}
    code = template.replace(
        co_name="__init__",
        co_qualname=f"{cls.__qualname__}.__init__",
        co_varnames=tuple(rename.get(v, v) for v in template.co_varnames),
        co_names=tuple(rename.get(n, n) for n in template.co_names),
        co_consts=tuple(rename.get(c, c) if isinstance(c, str) else c for c in template.co_consts),
    )
    factories = tuple(spec.default_factory for spec in fields)
    defaults = tuple(
        MISSING if spec.default_factory is not MISSING else spec.default
        for spec in fields
        if spec.default is not MISSING or spec.default_factory is not MISSING
    )
    cells = {"_MISSING": MISSING, "_factories": factories, "_set": object.__setattr__}
    closure = tuple(CellType(cells[name]) for name in code.co_freevars)
    init: Callable[..., None] = FunctionType(code, {}, "__init__", defaults or None, closure)
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    init.__annotations__ = {spec.name: spec.type for spec in fields} | {"return": None}
    return init


def _repr(self: Any) -> str:
    names = type(self).__record_fields__
    inner = ", ".join(f"{name}={getattr(self, name)!r}" for name in names)
    return f"{type(self).__qualname__}({inner})"


def _eq(self: Any, other: Any) -> Any:
    if other.__class__ is not self.__class__:
        return NotImplemented
    key = self.__record_key__
    return bool(key(self) == key(other))


def _hash(self: Any) -> int:
    return hash(self.__record_key__(self))


def _frozen_setattr(self: Any, name: str, value: object) -> None:
    raise FrozenInstanceError(f"cannot assign to field {name!r}")


def _frozen_delattr(self: Any, name: str) -> None:
    raise FrozenInstanceError(f"cannot delete field {name!r}")


def _getstate(self: Any) -> list[object]:
    return [getattr(self, name) for name in type(self).__record_fields__]


def _setstate(self: Any, state: list[object]) -> None:
    for name, value in zip(type(self).__record_fields__, state, strict=True):
        object.__setattr__(self, name, value)  # frozen classes too, as the stdlib does


class _StdlibFields:
    """`__dataclass_fields__` built on first access from the stdlib's Field objects, so
    `dataclasses.fields/replace/asdict/is_dataclass` work on records."""

    def __init__(self, fields: list[Field]) -> None:
        self._fields = fields
        self._built: dict[str, Any] | None = None

    def __get__(self, obj: object, owner: type | None = None) -> dict[str, Any]:
        if self._built is None:
            import dataclasses

            built = {}
            for spec in self._fields:
                std = dataclasses.field(
                    default=_std(spec.default, dataclasses.MISSING),
                    default_factory=_std(spec.default_factory, dataclasses.MISSING),
                    compare=spec.compare,
                )
                std.name, std.type = spec.name, spec.type
                std._field_type = dataclasses._FIELD  # type: ignore[attr-defined]
                built[spec.name] = std
            self._built = built
        return self._built


def _std(value: object, missing: object) -> Any:
    return missing if value is MISSING else value


def _key_getter(names: list[str]) -> Callable[[Any], tuple[object, ...]]:
    if len(names) >= 2:
        return attrgetter(*names)
    if len(names) == 1:
        one = attrgetter(names[0])
        return lambda obj: (one(obj),)
    return lambda obj: ()


def _process(cls: type[_T], frozen: bool, slots: bool) -> type[_T]:
    fields = _fields(cls)
    names = tuple(spec.name for spec in fields)
    compared = [spec.name for spec in fields if spec.compare]
    attrs: dict[str, Any] = {
        "__record_fields__": names,
        "__record_key__": staticmethod(_key_getter(compared)),
        "__record_values__": staticmethod(_key_getter(list(names))),  # for replace
        "__record_index__": {name: i for i, name in enumerate(names)},
        "__match_args__": names,
        "__dataclass_fields__": _StdlibFields(fields),
    }
    own = cls.__dict__
    if "__init__" not in own:
        attrs["__init__"] = _init(cls, fields, frozen)
    if "__repr__" not in own:
        attrs["__repr__"] = _repr
    if "__eq__" not in own:
        attrs["__eq__"] = _eq
    # The stdlib's hash rules for eq=True: frozen -> hash of the compared fields unless the
    # class wrote its own __hash__; not frozen -> unhashable unless it did.
    explicit_hash = own.get("__hash__", MISSING) is not MISSING and not (
        own.get("__hash__") is None and "__eq__" in own
    )
    if not explicit_hash:
        attrs["__hash__"] = _hash if frozen else None
    if frozen:
        if "__setattr__" in own or "__delattr__" in own:
            raise TypeError(f"cannot overwrite __setattr__/__delattr__ of frozen {cls.__name__}")
        attrs["__setattr__"] = _frozen_setattr
        attrs["__delattr__"] = _frozen_delattr
    if not slots:
        for spec in fields:
            if isinstance(own.get(spec.name), Field):
                if spec.default is MISSING:
                    delattr(cls, spec.name)
                else:
                    setattr(cls, spec.name, spec.default)
        for key, value in attrs.items():
            setattr(cls, key, value)
        return cls
    body = {k: v for k, v in own.items() if k not in names and k not in ("__dict__", "__weakref__")}
    body.update(attrs)
    body["__slots__"] = names
    if frozen:
        body.setdefault("__getstate__", _getstate)
        body.setdefault("__setstate__", _setstate)
    meta: type = type(cls)
    new: type[_T] = meta(cls.__name__, cls.__bases__, body)
    new.__qualname__ = cls.__qualname__
    return new
