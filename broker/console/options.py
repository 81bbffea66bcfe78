"""The console's settings: where its cookie-signing secret lives, how long a session lasts, and the sign-in
backoff. The console's clock is the broker's (``Services.clock``), so a test moves one clock for both.

Read from the environment next to the broker's own ``Settings``; nothing here has a secret default.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from broker.config import Settings

SECRET_FILE_NAME = "console-secret.key"


@dataclass(frozen=True, slots=True)
class ConsoleOptions:
    secret_file: Path
    session_lifetime: timedelta = timedelta(hours=8)
    # Failures allowed per username (from any address) before each further attempt must wait.
    free_attempts: int = 3
    # Failures allowed per client address (under any username) before each further attempt from it must wait:
    # more than per user, since an office behind one address has many users.
    client_free_attempts: int = 10
    backoff_base: timedelta = timedelta(seconds=2)
    backoff_max: timedelta = timedelta(minutes=5)

    @classmethod
    def from_env(cls, settings: Settings, environ: dict[str, str] | None = None) -> ConsoleOptions:
        env = dict(os.environ if environ is None else environ)
        secret = env.get("DSVE_CONSOLE_SECRET_FILE", "").strip()
        lifetime = env.get("DSVE_CONSOLE_SESSION_LIFETIME", "").strip()
        try:
            seconds = int(lifetime) if lifetime else 8 * 3600
        except ValueError as exc:
            raise ValueError(f"DSVE_CONSOLE_SESSION_LIFETIME must be a whole number, got {lifetime!r}") from exc
        return cls(
            secret_file=Path(secret) if secret else settings.data_dir / SECRET_FILE_NAME,
            session_lifetime=timedelta(seconds=seconds),
        )

    def backoff_after(self, failures: int, free: int | None = None) -> timedelta:
        """How long the next attempt must wait after ``failures`` failures: doubling, up to a cap."""
        free = self.free_attempts if free is None else free
        if failures < free:
            return timedelta(0)
        # Capped before multiplying: a long run of failures must not overflow the timedelta.
        doublings = min(failures - free, 30)
        return min(self.backoff_base * (1 << doublings), self.backoff_max)
