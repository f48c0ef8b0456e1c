"""pinit.records behaves as the stdlib's @dataclass for what pinit uses (issue 7, speed):
each behaviour is checked side by side against a real dataclass of the same shape."""

from __future__ import annotations

import copy
import dataclasses
import pickle
from typing import ClassVar

import pytest

from pinit import records


def _pair(frozen: bool, slots: bool) -> tuple[type, type]:
    def body(dc: object, fld: object) -> type:
        @dc(frozen=frozen, slots=slots)  # type: ignore[operator,misc]
        class Rec:
            name: str
            count: int = 3
            tags: list[str] = fld(default_factory=list)  # type: ignore[operator]
            note: str = fld(default="", compare=False)  # type: ignore[operator]
            LIMIT: ClassVar[int] = 9

        return Rec

    return body(records.dataclass, records.field), body(dataclasses.dataclass, dataclasses.field)


@pytest.mark.parametrize("frozen", [True, False])
@pytest.mark.parametrize("slots", [True, False])
def test_same_behaviour_as_stdlib(frozen: bool, slots: bool) -> None:
    ours, std = _pair(frozen, slots)
    for cls in (ours, std):
        a = cls("web", 2, ["x"], note="one")
        assert (a.name, a.count, a.tags, a.note) == ("web", 2, ["x"], "one")
        assert cls("web", 2, ["x"], note="other") == a  # note is compare=False
        assert cls("web") != a
        assert cls("web").tags is not cls("web").tags  # one list per instance
        assert cls.LIMIT == 9
        with pytest.raises(TypeError):
            cls()
    assert repr(ours("web", note="n")) == repr(std("web", note="n")).replace(
        std.__qualname__, ours.__qualname__
    )
    assert ours.__match_args__ == std.__match_args__
    assert ours.__init__.__annotations__ == std.__init__.__annotations__
    assert (ours.__hash__ is None) == (std.__hash__ is None)
    if frozen:
        assert hash(ours("web", 2, (), note="a")) == hash(std("web", 2, (), note="b"))
        for cls, error in ((ours, records.FrozenInstanceError), (std, AttributeError)):
            with pytest.raises(error):
                cls("web").count = 4
            with pytest.raises(AttributeError):
                del cls("web").count
    else:
        b = ours("web")
        b.count = 5
        assert b.count == 5
    if slots:
        assert not hasattr(ours("web"), "__dict__")
        assert ours.__slots__ == ("name", "count", "tags", "note")


def test_replace_and_stdlib_functions() -> None:
    ours, _ = _pair(frozen=True, slots=True)
    a = ours("web", 2, ["x"], note="n")
    b = records.replace(a, count=7)
    assert (b.name, b.count, b.tags, b.note) == ("web", 7, ["x"], "n")
    assert a.count == 2
    assert dataclasses.replace(a, count=7) == b
    assert dataclasses.is_dataclass(a)
    assert [f.name for f in dataclasses.fields(ours)] == ["name", "count", "tags", "note"]
    assert dataclasses.asdict(a) == {"name": "web", "count": 2, "tags": ["x"], "note": "n"}
    with pytest.raises(TypeError, match="no field"):
        records.replace(a, colour="red")


def test_copy_and_pickle_of_frozen_slots() -> None:
    a = Pickled("web", (1, 2))
    assert copy.copy(a) == a
    assert copy.deepcopy(a) == a
    assert pickle.loads(pickle.dumps(a)) == a


@records.dataclass(frozen=True, slots=True)
class Pickled:
    name: str
    items: tuple[int, ...] = ()


def test_post_init_runs() -> None:
    seen = []

    @records.dataclass
    class Rec:
        value: int

        def __post_init__(self) -> None:
            seen.append(self.value)

    Rec(4)
    assert seen == [4]


def test_errors_at_class_creation_as_stdlib() -> None:
    with pytest.raises(ValueError, match="mutable default"):

        @records.dataclass
        class Mutable:
            items: list[int] = []  # noqa: RUF012

    with pytest.raises(TypeError, match="non-default argument"):

        @records.dataclass
        class Order:
            a: int = 1
            b: int  # type: ignore[misc]

    with pytest.raises(TypeError):
        records.dataclass(order=True)  # type: ignore[call-overload]
    with pytest.raises(ValueError, match="both"):
        records.field(default=1, default_factory=int)


def test_explicit_methods_are_kept() -> None:
    @records.dataclass(frozen=True)
    class Rec:
        value: int

        def __repr__(self) -> str:
            return "mine"

        def __hash__(self) -> int:
            return 7

    assert repr(Rec(1)) == "mine"
    assert hash(Rec(1)) == 7


def test_init_signature_and_argument_errors_as_stdlib() -> None:
    import inspect

    ours, std = _pair(frozen=True, slots=True)
    assert str(inspect.signature(ours)) == str(inspect.signature(std)).replace(
        "<factory>", "MISSING"
    )
    for cls in (ours, std):
        assert cls(name="a", count=1).count == 1
        with pytest.raises(TypeError):
            cls("a", name="b")
        with pytest.raises(TypeError):
            cls("a", colour="red")
        with pytest.raises(TypeError):
            cls("a", 1, [], "n", "extra")


def test_shapes_share_a_template_but_not_names() -> None:
    @records.dataclass(frozen=True)
    class A:
        x: int
        y: int = 2

    @records.dataclass(frozen=True)
    class B:
        p: str
        q: str = "q"

    @records.dataclass
    class Empty:
        pass

    assert (A(1).x, A(1).y, B("p").p, B("p").q) == (1, 2, "p", "q")
    assert A.__init__.__code__.co_varnames[:3] == ("self", "x", "y")
    assert repr(Empty()) == f"{Empty.__qualname__}()"
    assert Empty() == Empty()


def test_a_wide_shape_not_precompiled_compiles_from_the_same_source() -> None:
    """A shape pinit does not use (42 fields, __post_init__) compiles from template_source, whose
    parameters wrap over several lines: positional, keyword, defaults and factories all land."""
    from pinit.recordinit import TEMPLATES

    assert (42, False, True) not in TEMPLATES
    names = [f"f{i}" for i in range(40)]
    namespace: dict[str, object] = {"records": records, "seen": []}
    lines = ["@records.dataclass", "class Wide:"]
    lines += [f"    {n}: int" for n in names]
    lines += ["    plain: int = 5", "    tail: list[int] = records.field(default_factory=list)"]
    lines += ["    def __post_init__(self) -> None:", "        seen.append(self.f39)"]
    exec("\n".join(lines), namespace)
    wide = namespace["Wide"]
    a = wide(*range(40))  # type: ignore[operator]
    b = wide(**{n: i for i, n in enumerate(names)}, tail=[7])  # type: ignore[operator]
    assert (a.f0, a.f39, a.plain, a.tail, b.f20, b.tail) == (0, 39, 5, [], 20, [7])
    assert namespace["seen"] == [39, 39]
    assert wide(*range(40)).tail is not a.tail  # type: ignore[operator]


@pytest.mark.parametrize("frozen", [True, False])
@pytest.mark.parametrize("slots", [True, False])
def test_replace_matches_the_stdlibs_for_every_change_set(frozen: bool, slots: bool) -> None:
    """replace reads all fields at once and passes them by position (issue 7: restart):
    every subset of changed fields, against dataclasses.replace on the same shape."""
    ours, std = _pair(frozen, slots)
    new = {"name": "api", "count": 9, "tags": ["y"], "note": "changed"}
    for mask in range(16):
        changes = {k: v for i, (k, v) in enumerate(new.items()) if mask >> i & 1}
        mine = records.replace(ours("web", 2, ["x"], note="n"), **changes)
        theirs = dataclasses.replace(std("web", 2, ["x"], note="n"), **changes)
        got = (mine.name, mine.count, mine.tags, mine.note)
        assert got == (theirs.name, theirs.count, theirs.tags, theirs.note)


def test_replace_runs_post_init_as_the_stdlibs_and_refuses_unknown_fields() -> None:
    seen: list[str] = []

    @records.dataclass(frozen=True, slots=True)
    class Rec:
        name: str
        count: int = 1
        extra: str = "e"

        def __post_init__(self) -> None:
            seen.append(self.name)

    a = Rec("web", 2, "x")
    b = records.replace(a, extra="z", name="api")
    assert (b.name, b.count, b.extra) == ("api", 2, "z")
    assert seen == ["web", "api"]  # __post_init__ runs for the copy too, as in dataclasses
    assert records.replace(a) == a and records.replace(a) is not a
    with pytest.raises(TypeError, match=r"no field\(s\) colour"):
        records.replace(a, extra="z", colour="red")
