"""The trigger-menu schema: pydantic models loaded from YAML.

A menu has L1 seeds and HLT paths, each an AND of cuts (the *primitives*, one numba kernel each):

``jets``       N jets above per-jet pt thresholds within |eta| (``pt: [70, 55, 40, 35]``)
``ht``         scalar sum of jet pt (jets above their own pt / |eta| threshold) above ``min``;
               ``leading: N`` sums only the N leading such jets (ATLAS ``HT190-J15s5pETA21``)
``tagger``     (L1) at least ``n`` jets with an L1 tagger score (``l1_score``) above ``wp``
``btag_count`` (HLT) at least ``n`` jets with a b-tag score above ``wp``
``btag_mean``  (HLT) mean of the ``top`` highest b-tag scores among the selected jets >= ``min``
               (CMS ``PNet2BTagMean``); ``btag_sum`` the same with the sum (``2BTagSum``)
``fatjet``     at least ``n`` large-R jets with pt, soft-drop mass and Xbb score above thresholds

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
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from trigkit.core.errors import TrigkitError
from trigkit.emulator.yaml_lines import Loc, line_of, load_with_lines, read_text

Pt = Annotated[float, Field(ge=0.0)]
Eta = Annotated[float, Field(gt=0.0, le=10.0)]
MAX_LEADING = 100  # ht.leading: a positive int up to this (more is every selected jet in practice)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class JetsCut(_Strict):
    """``len(pt)`` jets within ``abs_eta``, the i-th highest above ``pt[i]`` (GeV)."""

    pt: Annotated[list[Pt], Field(min_length=1, max_length=16)]
    abs_eta: Eta = 2.5

    @field_validator("pt")
    @classmethod
    def _descending(cls, v: list[float]) -> list[float]:
        # Sorting keeps the meaning (Hall's theorem on nested jet sets) and lets the kernel count.
        return sorted(v, reverse=True)


class HTCut(_Strict):
    """HT = sum of pt of jets with pt >= ``jet_pt`` and |eta| <= ``jet_abs_eta``; HT >= ``min``.

    ``leading: N`` sums only the first N of those jets in pt order (the N leading selected jets,
    e.g. ATLAS ``L1_HT190-J15s5pETA21``: the 5 leading jets with pt > 15 and |eta| < 2.1); an
    event with fewer selected jets sums them all. Omitted: every selected jet."""

    min: Pt
    jet_pt: Pt = 30.0
    jet_abs_eta: Eta = 2.5
    leading: Annotated[int, Field(strict=True, ge=1, le=MAX_LEADING)] | None = None


class ScoreCountCut(_Strict):
    """At least ``n`` jets (pt >= ``jet_pt``, |eta| <= ``jet_abs_eta``) with ``field`` >= ``wp``."""

    wp: float
    n: Annotated[int, Field(ge=1, le=16)] = 1
    field: str = "btag"
    jet_pt: Pt = 30.0
    jet_abs_eta: Eta = 2.5


class L1TaggerCut(ScoreCountCut):
    """The L1 tagger cut: a score count on the firmware-emulated per-jet score ``l1_score``."""

    field: str = "l1_score"
    jet_pt: Pt = 20.0


class ScoreTopCut(_Strict):
    """Mean (``btag_mean``) or sum (``btag_sum``) of the ``top`` highest ``field`` scores among
    jets with pt >= ``jet_pt`` and |eta| <= ``jet_abs_eta``, compared with ``min``.
    Fewer than ``top`` such jets fails the cut."""

    min: float
    top: Annotated[int, Field(ge=1, le=4)] = 2
    field: str = "btag"
    jet_pt: Pt = 30.0
    jet_abs_eta: Eta = 2.5


class FatJetCut(_Strict):
    """At least ``n`` large-R jets with pt >= ``pt``, msd >= ``msd``, |eta| <= ``abs_eta`` and
    (when ``xbb`` is given) ``xbb_field`` >= ``xbb``."""

    pt: Pt
    msd: Pt = 0.0
    xbb: float | None = None
    xbb_field: str = "xbb"
    abs_eta: Eta = 2.5
    n: Annotated[int, Field(ge=1, le=8)] = 1


Prescale = Annotated[int, Field(ge=0)]


class L1Seed(_Strict):
    jets: JetsCut | None = None
    ht: HTCut | None = None
    tagger: L1TaggerCut | None = None
    any_of: list[str] | None = None
    prescale: Prescale = 1

    @model_validator(mode="after")
    def _not_empty(self) -> L1Seed:
        if not (self.jets or self.ht or self.tagger or self.any_of):
            raise ValueError("an L1 seed needs at least one of: jets, ht, tagger, any_of")
        return self


class HLTPath(_Strict):
    seeds: list[str] = Field(default_factory=list)
    jets: JetsCut | None = None
    ht: HTCut | None = None
    btag_count: ScoreCountCut | None = None
    btag_mean: ScoreTopCut | None = None
    btag_sum: ScoreTopCut | None = None
    fatjet: FatJetCut | None = None
    prescale: Prescale = 1

    @model_validator(mode="after")
    def _not_empty(self) -> HLTPath:
        if not (
            self.jets
            or self.ht
            or self.btag_count
            or self.btag_mean
            or self.btag_sum
            or self.fatjet
        ):
            raise ValueError(
                "an HLT path needs at least one of: jets, ht, btag_count, btag_mean, btag_sum, fatjet"
            )
        return self


class Menu(_Strict):
    name: str
    description: str = ""
    l1: Annotated[dict[str, L1Seed], Field(min_length=1)]
    hlt: Annotated[dict[str, HLTPath], Field(min_length=1)]

    @property
    def l1_names(self) -> list[str]:
        return list(self.l1)

    @property
    def hlt_names(self) -> list[str]:
        return list(self.hlt)

    def jet_fields(self) -> list[str]:
        """Per-jet score fields the menu reads (in a fixed order)."""
        out: list[str] = []
        for trig in [*self.l1.values(), *self.hlt.values()]:
            for cut in (
                getattr(trig, a, None) for a in ("tagger", "btag_count", "btag_mean", "btag_sum")
            ):
                if cut is not None and cut.field not in out:
                    out.append(cut.field)
        return out

    def fatjet_fields(self) -> list[str]:
        out: list[str] = []
        for path in self.hlt.values():
            if (
                path.fatjet is not None
                and path.fatjet.xbb is not None
                and path.fatjet.xbb_field not in out
            ):
                out.append(path.fatjet.xbb_field)
        return out

    def uses_fatjets(self) -> bool:
        return any(p.fatjet is not None for p in self.hlt.values())


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
        return f"{where}: unknown key '{loc[-1]}' in {'.'.join(str(p) for p in loc[:-1]) or 'menu'}; allowed keys: {allowed}"
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
