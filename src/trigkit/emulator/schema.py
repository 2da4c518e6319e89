"""The trigger-menu schema: pydantic models loaded from YAML.

A menu has L1 seeds and HLT paths, each an AND of cuts. The cut keys (``jets``, ``ht``,
``tagger`` at L1, ``btag_count`` / ``btag_mean`` / ``btag_sum`` / ``fatjet`` at the HLT...) are
the cut types registered in :mod:`trigkit.emulator.cuts`, one file each with its model and
meaning; the trigger models here take their fields from that registry.

An L1 seed may also require ``any_of`` other seeds (an OR of seeds); an HLT path lists the
``seeds`` it runs on (their OR; an empty list means unseeded: it runs on every L1-accepted
event). ``prescale: N`` keeps every N-th
candidate event (a deterministic counter; 0 disables the trigger).

Every model forbids unknown keys: :func:`load_menu` reports a typo with its YAML line and the
keys allowed there.
"""

from __future__ import annotations

import types
import typing
from pathlib import Path
from typing import Annotated, Any, ClassVar

from pydantic import BaseModel, Field, ValidationError, create_model, model_validator

from trigkit.core.errors import TrigkitError
from trigkit.emulator.cuts import CutType, Level, cut_types
from trigkit.emulator.cuts.base import Strict
from trigkit.emulator.cuts.fatjet import FatJetCut
from trigkit.emulator.cuts.ht import MAX_LEADING, HTCut
from trigkit.emulator.cuts.jets import JetsCut
from trigkit.emulator.cuts.score_count import L1TaggerCut, ScoreCountCut
from trigkit.emulator.cuts.score_top import ScoreTopCut
from trigkit.emulator.yaml_lines import Loc, line_of, load_with_lines, read_text


class Trigger(Strict):
    """An L1 seed or HLT path: its cuts are the fields named after the registered cut types."""

    _level: ClassVar[Level]
    _what: ClassVar[str]
    _others: ClassVar[tuple[str, ...]] = ()  # non-cut keys that are enough on their own

    def cuts(self) -> list[tuple[CutType, Strict]]:
        """The trigger's cuts in registry order (the order they are evaluated in)."""
        return [(t, c) for t in cut_types(self._level) if (c := getattr(self, t.key)) is not None]

    @model_validator(mode="after")
    def _not_empty(self) -> Trigger:
        if not (self.cuts() or any(getattr(self, k) for k in self._others)):
            keys = [t.key for t in cut_types(self._level)] + list(self._others)
            raise ValueError(f"{self._what} needs at least one of: {', '.join(keys)}")
        return self


def _cut_fields(level: Level) -> dict[str, Any]:
    return {t.key: (t.model | None, None) for t in cut_types(level)}


class _L1Base(Trigger):
    _level: ClassVar[Level] = "l1"
    _what: ClassVar[str] = "an L1 seed"
    _others: ClassVar[tuple[str, ...]] = ("any_of",)


class _HLTBase(Trigger):
    _level: ClassVar[Level] = "hlt"
    _what: ClassVar[str] = "an HLT path"


Prescale = Annotated[int, Field(ge=0)]

#: an L1 seed: its L1 cuts, ``any_of`` (an OR of plain seeds it also requires) and a prescale
L1Seed = create_model(
    "L1Seed",
    __base__=_L1Base,
    __module__=__name__,
    **_cut_fields("l1"),
    any_of=(list[str] | None, None),
    prescale=(Prescale, 1),
)
#: an HLT path: the L1 ``seeds`` it runs on (their OR; [] = unseeded), its HLT cuts, a prescale
HLTPath = create_model(
    "HLTPath",
    __base__=_HLTBase,
    __module__=__name__,
    seeds=(list[str], Field(default_factory=list)),
    **_cut_fields("hlt"),
    prescale=(Prescale, 1),
)


class Menu(Strict):
    name: str
    description: str = ""
    l1: Annotated[dict[str, L1Seed], Field(min_length=1)]  # type: ignore[valid-type]
    hlt: Annotated[dict[str, HLTPath], Field(min_length=1)]  # type: ignore[valid-type]

    @property
    def l1_names(self) -> list[str]:
        return list(self.l1)

    @property
    def hlt_names(self) -> list[str]:
        return list(self.hlt)

    def triggers(self) -> list[Trigger]:
        """L1 seeds (menu order), then HLT paths: the trigger numbering of the engines."""
        return [*self.l1.values(), *self.hlt.values()]

    def jet_fields(self) -> list[str]:
        """Per-jet score fields the menu reads (in a fixed order)."""
        found = (f for t in self.triggers() for ct, cut in t.cuts() for f in ct.jet_fields(cut))
        return list(dict.fromkeys(found))

    def fatjet_fields(self) -> list[str]:
        """Per-large-R-jet score fields the menu reads (in a fixed order)."""
        found = (f for t in self.triggers() for ct, cut in t.cuts() for f in ct.fatjet_fields(cut))
        return list(dict.fromkeys(found))

    def uses_fatjets(self) -> bool:
        return any(ct.collection == "fatjets" for t in self.triggers() for ct, _ in t.cuts())


SHIPPED_DIR = Path(__file__).resolve().parent.parent / "menus"


def shipped_menus() -> list[str]:
    return sorted(p.stem for p in SHIPPED_DIR.glob("*.yaml"))


def resolve_menu_path(menu: str | Path) -> Path:
    """A path, or the name of a shipped menu (``run3_hh4b``)."""
    p = Path(menu)
    if p.exists():
        return p
    shipped = SHIPPED_DIR / f"{menu}.yaml"
    if shipped.exists():
        return shipped
    raise TrigkitError(
        f"menu '{menu}': no such file and not a shipped menu; shipped: {', '.join(shipped_menus())}"
    )


def load_menu(menu: str | Path) -> Menu:
    """Read and validate a menu file (or a shipped menu name)."""
    path = resolve_menu_path(menu)
    return parse_menu(read_text(path), str(path))


def parse_menu(text: str, source: str = "<menu>") -> Menu:
    data, lines = load_with_lines(text, source)
    if not isinstance(data, dict):
        raise TrigkitError(f"{source} line 1: a menu is a mapping with keys {_allowed(Menu)}")
    try:
        menu = Menu.model_validate(data)
    except ValidationError as exc:
        raise TrigkitError(_format_error(exc, lines, source)) from None
    _check_references(menu, lines, source)
    return menu


def _check_references(menu: Menu, lines: dict[Loc, int], source: str) -> None:
    seeds = menu.l1_names
    for name, seed in menu.l1.items():
        for i, ref in enumerate(seed.any_of or []):
            bad = ref not in menu.l1 or ref == name or menu.l1[ref].any_of
            if bad:
                valid = [s for s in seeds if s != name and not menu.l1[s].any_of]
                line = line_of(lines, ("l1", name, "any_of", i))
                raise TrigkitError(
                    f"{source} line {line}: l1.{name}.any_of: '{ref}' is not a plain L1 seed "
                    f"(any_of may name seeds without any_of); valid: {', '.join(valid)}"
                )
    for name, path in menu.hlt.items():
        for i, ref in enumerate(path.seeds):
            if ref not in menu.l1:
                line = line_of(lines, ("hlt", name, "seeds", i))
                raise TrigkitError(
                    f"{source} line {line}: hlt.{name}.seeds: unknown L1 seed '{ref}'; "
                    f"defined: {', '.join(seeds)}"
                )


def _format_error(exc: ValidationError, lines: dict[Loc, int], source: str) -> str:
    errors = exc.errors()
    # a typo usually also makes a required key "missing": report the typo first
    err = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
    loc: Loc = tuple(err["loc"])
    line = line_of(lines, loc)
    dotted = ".".join(str(p) for p in loc) or "(top level)"
    where = f"{source} line {line}" if line else source
    if err["type"] == "extra_forbidden":
        allowed = _allowed(_model_at(loc[:-1]))
        return (
            f"{where}: unknown key '{loc[-1]}' "
            f"in {'.'.join(str(p) for p in loc[:-1]) or 'menu'}; allowed keys: {allowed}"
        )
    if err["type"] == "missing":
        return f"{where}: {dotted} is required"
    msg = err["msg"]
    if err["type"] in ("model_type", "dict_type"):
        target = _model_at(loc)
        if isinstance(target, type) and issubclass(target, BaseModel):
            msg = f"expected a mapping with keys {_allowed(target)}"
    return f"{where}: {dotted}: {msg}"


def _allowed(model: Any) -> str:
    if isinstance(model, type) and issubclass(model, BaseModel):
        return ", ".join(model.model_fields)
    return "(none)"


def _unwrap(tp: Any) -> Any:
    while True:
        origin = typing.get_origin(tp)
        if origin is Annotated:
            tp = typing.get_args(tp)[0]
        elif origin in (typing.Union, types.UnionType):
            args = [a for a in typing.get_args(tp) if a is not type(None)]
            tp = args[0] if len(args) == 1 else tp
            if len(args) != 1:
                return tp
        else:
            return tp


def _model_at(loc: Loc) -> Any:
    """The type expected at ``loc`` inside a :class:`Menu` (for listing allowed keys)."""
    tp: Any = Menu
    for part in loc:
        tp = _unwrap(tp)
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            field = tp.model_fields.get(str(part))
            if field is None:
                return None
            tp = field.annotation
        elif typing.get_origin(tp) in (dict, list):
            tp = typing.get_args(tp)[-1]
        else:
            return None
    return _unwrap(tp)


__all__ = [
    "MAX_LEADING",
    "Trigger",
    "FatJetCut",
    "HLTPath",
    "HTCut",
    "JetsCut",
    "L1Seed",
    "L1TaggerCut",
    "Menu",
    "ScoreCountCut",
    "ScoreTopCut",
    "load_menu",
    "parse_menu",
    "resolve_menu_path",
    "shipped_menus",
]
