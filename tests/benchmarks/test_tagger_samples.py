"""The tagger benchmark's sample layout: roles, seeds and which kinds see the Xbb slices."""

from __future__ import annotations

from trigkit.benchmarks import tagger_eval as T


def test_pythia_roles_add_xbb_slices_with_their_own_seeds() -> None:
    roles = T.sample_roles("pythia", n_train=100, n_test=40)
    got = [(r, s.process, s.n_events, s.seed) for r, s in roles]
    assert got == [
        ("train", "hh4b", 100, 1),
        ("train", "qcd", 100, 2),
        ("train", "ttbar", 25, 3),
        ("test", "hh4b", 40, 101),
        ("test", "qcd", 40, 102),
        ("test", "ttbar", 10, 103),
        ("xbb_train", "qcd", 200, 4),
        ("xbb_train", "xhh", 200, 5),
        ("xbb_test", "qcd", 320, 104),
        ("xbb_test", "xhh", 80, 105),
    ]
    specs = [s for _, s in roles]
    assert len({s.seed for s in specs}) == len(specs)  # independent samples
    assert all(
        s.pthat_min == T.XBB_PTHAT_MIN
        for r, s in roles
        if r.startswith("xbb") and s.process == "qcd"
    )
    assert all(s.pythia_config().m_x == T.XBB_M_X for s in specs if s.process == "xhh")


def test_fast_engine_has_no_xbb_slices() -> None:
    assert {r for r, _ in T.sample_roles("fast", 10, 10)} == {"train", "test"}
    assert {r for r, _ in T.sample_roles("pythia", 10, 10, xbb=False)} == {"train", "test"}


def test_only_the_constituents_kind_sees_the_xbb_slices() -> None:
    a, b, c, d = (object() for _ in range(4))
    s = T.BenchSamples("pythia", (a,), (b,), (), (), (), (c,), (d,))  # type: ignore[arg-type]
    assert s.train_for("constituents") == (a, c) and s.test_for("constituents") == (b, d)
    assert s.train_for("tracks") == (a,) and s.test_for("jets") == (b,)


def test_hh4b_only_xbb_test_drops_the_xhh_slice() -> None:
    roles = T.sample_roles("pythia", 10, 10)
    specs = tuple(s for _, s in roles)
    names = {("xbb_test", "qcd"): "qcd104", ("xbb_test", "xhh"): "xhh105"}
    xbb_test = tuple(names[(r, s.process)] for r, s in roles if r == "xbb_test")
    s = T.BenchSamples(
        "pythia", ("tr",), ("te",), specs, (), tuple(r for r, _ in roles), (), xbb_test
    )  # type: ignore[arg-type]
    assert s.xbb_hh4b_test() == ("te", "qcd104")
