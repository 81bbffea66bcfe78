"""A short fuzz run in the suite (seconds): the same targets and mutators as the long run (``run.py``),
driven by Hypothesis, so a finding shrinks to the random choices that make it.
"""

from __future__ import annotations

import random
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from broker.http.webhooks import read_subscription_request
from broker.usecases.webhook_subscriptions import checked_subscription
from tests.fuzz.intake_targets import (
    BANK,
    MEGLER,
    Intake,
    build_intake,
    check_package_bytes,
    one_intake_execution,
    seed_package,
)
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


@pytest.fixture(scope="module")
def intake(world: World) -> Iterator[Intake]:
    built = build_intake(world)
    yield built
    built.close(world)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rnd=st.randoms(use_true_random=False))
def test_file_transfers_kartverket_tokens_and_webhooks_accept_or_refuse_with_a_client_error(
    world: World, intake: Intake, rnd: random.Random
) -> None:
    one_intake_execution(world, intake, rnd)


def test_the_intake_seeds_reach_every_stage(world: World, intake: Intake) -> None:
    """Valid seeds pass each reader, so the mutations start from inputs that get all the way through."""
    for seed in intake.packages:
        outcome = check_package_bytes(world, intake, seed, seed_package(seed), seed.properties, seed.role)
        assert (outcome.label == "accepted") == seed.valid, (seed.schema_set, seed.name, outcome)
    for token in intake.tokens:
        assert world.tokens.authenticate(token).orgnr in {BANK, MEGLER}
    for body in intake.webhooks:
        asked = read_subscription_request(body)
        checked_subscription(BANK, asked.endpoint, asked.resource, asked.event_types, allow_loopback=False)
    for seed in intake.packages:
        if seed.schema_set == "etinglysing" and seed.valid and seed.properties["operation"] == "valider":
            assert world.run(intake.kartverket.handle("valider", seed.data, MEGLER)), seed.name
