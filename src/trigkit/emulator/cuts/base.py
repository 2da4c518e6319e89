"""What every cut type implements, and the source builders its codegen expression writes into.

A cut type (one file under :mod:`trigkit.emulator.cuts`) holds, for one YAML key of a trigger:

* its **schema model** (:attr:`CutType.model`, a strict pydantic model);
* its **plan entry**: :meth:`CutType.register` names the per-event *register* (the quantity the
  cut reads: a count, a sum, the k highest scores) so that cuts reading the same register share it;
* its **codegen**: :meth:`CutType.emit` writes the register's per-jet (or per-large-R-jet) update
  into a :class:`JetLoop` / :class:`FatLoop`, :meth:`CutType.expr` the decision from it;
* its **reference evaluation**: :meth:`CutType.reference`, a columnar awkward evaluation on
  every event (relying on no jet ordering), the one the generated kernel is checked against.

Cut types with the same :attr:`CutType.kind` share registers (``btag_mean`` / ``btag_sum``).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Annotated, Any, ClassVar, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from trigkit.core.errors import TrigkitError
from trigkit.emulator.f32 import at_least, at_most

Level = Literal["l1", "hlt"]
Pt = Annotated[float, Field(ge=0.0)]
Eta = Annotated[float, Field(gt=0.0, le=10.0)]
I1, I2, I3, I4 = (" " * n for n in (8, 12, 16, 20))  # chunk / event / jet loop / its `if`


class Strict(BaseModel):
    """A menu model: frozen, unknown keys forbidden (reported with their YAML line)."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def lit(x: float) -> str:
    """``x`` as a Python literal of the generated source (``inf`` / ``-inf`` for infinities)."""
    return repr(float(x)) if abs(x) != float("inf") else ("inf" if x > 0 else "-inf")


class Consts:
    """The float32 thresholds ``C0, C1, ...``: kernel locals loaded from the float32 array
    argument ``cv`` (:meth:`kernel_lines`), whose values the module defines as ``CONSTS``
    (:meth:`module_lines`). Runtime values, not frozen globals: numba's large code model
    materialises a global constant's address and reloads it on every use; a local stays in a
    register (or one stack slot)."""

    def __init__(self) -> None:
        self.names: dict[tuple[str, float], str] = {}
        self.lines: list[str] = []  # one comment per constant: what it decides like
        self.values: list[str] = []  # their float32 literals, in C0, C1... order

    def module_lines(self) -> list[str]:
        """The generated module's ``CONSTS`` array (``cv``), each value's meaning above it."""
        return [*self.lines, f"CONSTS = np.array([{', '.join(self.values)}], dtype=np.float32)"]

    def kernel_lines(self, indent: str) -> list[str]:
        """``C{i} = cv[{i}]`` for every constant, at the top of the kernel."""
        return [f"{indent}C{i} = cv[{i}]" for i in range(len(self.values))]

    def ge(self, t: float) -> str:
        """Name of the float32 ``c`` with ``x >= c`` <=> ``float64(x) >= t``."""
        return self._get(">=", t, float(at_least(t)))

    def le(self, t: float) -> str:
        """Name of the float32 ``c`` with ``x <= c`` <=> ``float64(x) <= t``."""
        return self._get("<=", t, float(at_most(t)))

    def _get(self, op: str, t: float, c: float) -> str:
        if (op, t) not in self.names:
            self.names[op, t] = name = f"C{len(self.names)}"
            self.values.append("nan" if c != c else lit(c))
            self.lines.append(f"# {name}: x {op} {c!r} <=> float64(x) {op} {lit(t)}")
        return self.names[op, t]


@dataclass
class LoopLines:
    """What every generated loop over an event's jets keeps, whatever language it is written in
    (:class:`JetLoop`: numba; ``engine.lanes_c.LaneLoop``: C on 16 events' lanes): lines for
    ``init`` (before the loop), ``body`` (per jet) and ``after``; the score rows read; one
    counter per selection, shared by every register counting it. Subclasses write the syntax
    (:meth:`zero`, :meth:`add`, :meth:`alias`, :meth:`row_local`)."""

    cs: Consts
    pt_floor: float
    jet_fields: tuple[str, ...]
    init: list[str] = field(default_factory=list)
    body: list[str] = field(default_factory=list)
    after: list[str] = field(default_factory=list)
    rows: set[int] = field(default_factory=set)
    _counted: dict[str, str] = field(default_factory=dict)

    def above_floor(self, pt_min: float) -> bool:
        """Whether a pt cut at ``pt_min`` can fail inside the loop (it always passes at
        the floor)."""
        return float(at_least(pt_min)) > float(at_least(self.pt_floor))

    def count(self, c: str, var: str) -> None:
        """``var`` = number of jets selected by ``c`` (an alias when another local counts them)."""
        if c in self._counted:
            self.after.append(self.alias(var, self._counted[c]))
        else:
            self._counted[c] = var
            self.init.append(self.zero(var))
            self.body.append(self.add(var, c))

    def counter(self, c: str, var: str) -> str:
        """The local counting the jets selected by ``c`` up to and including this one (a new
        ``var`` incremented at this point of the body when none counts them yet)."""
        if c not in self._counted:
            self.count(c, var)
        return self._counted[c]

    def score(self, name: str) -> str:
        """The local holding score row ``name`` (see :meth:`row_local`)."""
        i = self.jet_fields.index(name)
        self.rows.add(i)
        return self.row_local(i)

    def zero(self, var: str) -> str:
        """The ``init`` line starting counter ``var`` at 0."""
        raise NotImplementedError

    def add(self, var: str, c: str) -> str:
        """The ``body`` line adding the jets selected by ``c`` to ``var``."""
        raise NotImplementedError

    def alias(self, var: str, counted: str) -> str:
        """The ``after`` line naming the counter ``counted`` ``var`` too."""
        raise NotImplementedError

    def row_local(self, i: int) -> str:
        """The local holding score row ``i``."""
        raise NotImplementedError


@dataclass
class JetLoop(LoopLines):
    """The per-event loop over an event's jets (pt-ordered, ended at the first jet below
    ``pt_floor``). Inside it ``p`` is the float32 pt, ``pd`` the float64 one, ``ae`` the |eta|,
    ``j`` the jet index; :meth:`score` names a score row. The loop over an event's L1 jets is
    one too, reading other buffers (``arrays``, ``bounds``) into selection locals named
    ``prefix*``."""

    arrays: tuple[str, str] = ("pt", "eta")  # the pt and eta buffers
    bounds: str = "j0, j1"  # the event's jets: range(bounds)
    prefix: str = "c"
    score_prefix: str = "s"  # score row locals: s0, s1 ... (ls0 ... for the L1 jets)
    _names: dict[str, str] = field(default_factory=dict)

    def sel(self, pt_min: float | None, eta_max: float) -> str:
        """A jet's selection (pt >= pt_min, |eta| <= eta_max) as a bool local, shared by every
        register selecting the same jets."""
        parts = [f"ae <= {self.cs.le(eta_max)}"]
        if pt_min is not None and self.above_floor(pt_min):
            parts.append(f"p >= {self.cs.ge(pt_min)}")
        expr = " & ".join(f"({x})" for x in parts) if len(parts) > 1 else parts[0]
        if expr not in self._names:
            self._names[expr] = f"{self.prefix}{len(self._names)}"
            self.body.append(f"{I3}{self._names[expr]} = {expr}")
        return self._names[expr]

    def zero(self, var: str) -> str:
        return f"{I2}{var} = 0"

    def add(self, var: str, c: str) -> str:
        return f"{I3}{var} += {c}"

    def alias(self, var: str, counted: str) -> str:
        return f"{I2}{var} = {counted}"

    def row_local(self, i: int) -> str:
        return f"{self.score_prefix}{i}"

    def lines(self) -> list[str]:
        if not self.body:
            return []
        head = [
            f"{I2}for j in range({self.bounds}):",
            f"{I3}p = {self.arrays[0]}[j]",
            f"{I3}if p < {self.cs.ge(self.pt_floor)}:",
            f"{I4}break",
            f"{I3}ae = abs({self.arrays[1]}[j])",
            f"{I3}pd = np.float64(p)",
        ]
        return self.init + head + self.body + self.after


@dataclass
class FatLoop:
    """The per-chunk loop over the chunk's large-R jets (``fp`` pt, ``fa`` |eta|, ``fm`` msd,
    index ``f``; ``fb`` the chunk's first large-R jet). Lines go to ``init`` (before the loop),
    ``body`` (per large-R jet) or ``event`` (per event, where ``f0, f1`` bound the event's large-R
    jets relative to ``fb``, plus one)."""

    cs: Consts
    fatjet_fields: tuple[str, ...]
    init: list[str] = field(default_factory=list)
    body: list[str] = field(default_factory=list)
    event: list[str] = field(default_factory=list)
    rows: set[int] = field(default_factory=set)

    def score(self, name: str) -> str:
        """The local holding large-R score row ``name`` (``fs{index}``)."""
        i = self.fatjet_fields.index(name)
        self.rows.add(i)
        return f"fs{i}"


@dataclass
class Source:
    """What one cut type writes into: constants, per-chunk lines (buffers), the jet loop and the
    large-R loop."""

    cs: Consts
    jets: JetLoop
    fat: FatLoop
    chunk: list[str] = field(default_factory=list)


def f64(x: Any) -> Any:  # noqa: ANN401 - an awkward array
    """float32 storage (as the kernel reads it), compared in float64 (for reference evaluations)."""
    import awkward as ak

    return ak.values_astype(ak.values_astype(x, np.float32), np.float64)


def selected(jets: Any, jet_pt: float, abs_eta: float) -> Any:  # noqa: ANN401
    """Per jet: pt >= ``jet_pt`` and |eta| <= ``abs_eta`` (float64 comparisons)."""
    return (f64(jets.pt) >= np.float64(jet_pt)) & (abs(f64(jets.eta)) <= np.float64(abs_eta))


ATTRIBUTES = ("order", "levels", "model", "kind", "examples")  # besides the abstract methods


def registered() -> tuple[type[CutType], ...]:
    """Every cut type defined so far (:mod:`trigkit.emulator.cuts` imports them all): the
    subclasses of :class:`CutType`, at any depth, that set their own ``key`` (a shared base such
    as ``_ScoreCount`` sets none)."""
    out, todo = [], list(CutType.__subclasses__())
    while todo:
        cls = todo.pop(0)
        todo += cls.__subclasses__()
        if "key" in vars(cls) and cls not in out:
            out.append(cls)
    return tuple(out)


def check_cut_type(cls: type[CutType]) -> CutType:
    """An instance of the cut type ``cls``; refused, naming what it lacks, when it does not
    implement every part (schema model, register, codegen, reference evaluation)."""
    lacking = sorted(getattr(cls, "__abstractmethods__", ()))
    lacking += [a for a in ATTRIBUTES if not hasattr(cls, a)]
    if lacking:
        raise TrigkitError(
            f"cut type '{cls.key}' ({cls.__module__}.{cls.__name__}) lacks: {', '.join(lacking)}; "
            "a cut type implements register, emit, expr and reference and sets "
            f"{', '.join(ATTRIBUTES)} (see trigkit.emulator.cuts.base.CutType)"
        )
    return cls()


class CutType(ABC):
    """One cut type: its YAML key, schema model, plan entry, codegen and reference evaluation.

    Every subclass setting ``key`` is a registered cut type (:func:`registered`)."""

    order: ClassVar[int]  # position among a trigger's cuts (evaluation and key order)
    key: ClassVar[str]  # the YAML key in a trigger (``jets``, ``ht``, ``btag_mean``...)
    levels: ClassVar[tuple[Level, ...]]  # where it may appear: L1 seeds, HLT paths
    model: ClassVar[type[Strict]]
    kind: ClassVar[str]  # register family; cut types of one kind share registers
    collection: ClassVar[Literal["jets", "fatjets"]] = "jets"
    #: settings (YAML mappings) the engine-equivalence test runs this cut with
    examples: ClassVar[tuple[dict[str, Any], ...]]

    def jet_fields(self, cut: Any) -> tuple[str, ...]:  # noqa: ANN401 - self.model
        """Per-jet score fields the cut reads."""
        return ()

    def fatjet_fields(self, cut: Any) -> tuple[str, ...]:  # noqa: ANN401
        """Per-large-R-jet score fields the cut reads."""
        return ()

    def pt_floor(self, cut: Any) -> float | None:  # noqa: ANN401
        """The lowest jet pt the cut can read (None: it reads no jets)."""
        return None

    @abstractmethod
    def register(self, cut: Any) -> tuple:  # noqa: ANN401
        """The register the cut reads; cuts of one kind with equal keys share it."""

    @abstractmethod
    def emit(self, r: int, key: tuple, cuts: list[Any], src: Source) -> None:
        """Write register ``r`` (``key``, read by ``cuts``) into ``src``'s loops."""

    @abstractmethod
    def expr(self, cut: Any, r: int, src: Source) -> str:  # noqa: ANN401
        """The decision of ``cut`` from register ``r``, as a bool expression of the source."""

    @abstractmethod
    def reference(self, cut: Any, jets: Any, fat: Any) -> np.ndarray:  # noqa: ANN401
        """Per-event decisions (bool array) from awkward ``jets`` / ``fat``, on every event."""
