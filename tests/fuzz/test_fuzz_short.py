"""A short fuzz run in the suite (seconds): the same targets and mutators as the long run (``run.py``),
driven by Hypothesis, so a finding shrinks to the random choices that make it.
"""

from __future__ import annotations

import random
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.fuzz.targets import one_execution
from tests.fuzz.world import World, build_world


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    built = build_world(tmp_path_factory.mktemp("fuzz"))
    yield built
    built.close()


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rnd=st.randoms(use_true_random=False))
def test_untrusted_bytes_are_accepted_or_refused_with_a_client_error(world: World, rnd: random.Random) -> None:
    one_execution(world, rnd, set())


def test_the_seeds_reach_every_stage(world: World) -> None:
    """The harness is able to fail: valid seeds are accepted, so mutations start behind the signature."""
    from tests.fuzz.targets import check_message

    signed = [seed for seed in world.seeds if seed.signed]
    outcomes = {check_message(world, seed.data, seed.sender).label for seed in signed}
    assert outcomes == {"accepted"}
