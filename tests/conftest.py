import os

from hypothesis import HealthCheck, settings

# Keras 3 runs on the torch backend (CPU) in the tests.
os.environ.setdefault("KERAS_BACKEND", "torch")
# Keep the user's environment out of detection unless a test sets it.
for _name in ("PROGBAR_DYNAMIC", "PROGBAR_DISABLE", "PROGBAR_LOG_INTERVAL", "NO_COLOR",
              "FORCE_COLOR"):
    os.environ.pop(_name, None)

settings.register_profile(
    "ci",
    deadline=None,
    derandomize=True,
    max_examples=200,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile("ci")


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def time(self) -> float:  # Keras reads `time.time()`
        return self.now
