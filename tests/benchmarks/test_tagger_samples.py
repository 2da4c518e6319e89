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


def _samples(batch_of) -> T.BenchSamples:  # noqa: ANN001
    roles = T.sample_roles("pythia", 10, 10)
    batches = tuple(batch_of(r, s) for r, s in roles)
    return T.BenchSamples(
        "pythia", tuple(r for r, _ in roles), tuple(s for _, s in roles), batches, ()
    )  # type: ignore[arg-type]


def test_only_the_constituents_kind_sees_the_xbb_slices() -> None:
    s = _samples(lambda r, spec: f"{r}:{spec.process}")
    train = ("train:hh4b", "train:qcd", "train:ttbar")
    test = ("test:hh4b", "test:qcd", "test:ttbar")
    assert s.train == train and s.test == test and s.has_xbb_slices
    assert s.train_for("constituents") == (*train, "xbb_train:qcd", "xbb_train:xhh")
    assert s.test_for("constituents") == (*test, "xbb_test:qcd", "xbb_test:xhh")
    assert s.train_for("tracks") == train and s.test_for("jets") == test


def test_hh4b_only_xbb_test_drops_the_xhh_slice() -> None:
    s = _samples(lambda r, spec: f"{r}:{spec.process}{spec.seed}")
    assert s.xbb_hh4b_test() == ("test:hh4b101", "test:qcd102", "test:ttbar103", "xbb_test:qcd104")
