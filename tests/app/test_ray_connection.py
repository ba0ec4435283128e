"""Connecting to a Ray cluster: a Ray Client start that fails once is tried again; other failures are said at once."""

import pytest

from zsad_desktop.app.cluster import ray_engine


class FakeRay:
    def __init__(self, failures: list[str]):
        self.failures, self.inits, self.shutdowns = list(failures), 0, 0

    def is_initialized(self) -> bool:
        return False

    def init(self, **options):
        self.inits += 1
        if self.failures:
            raise ConnectionError(self.failures.pop(0))

    def shutdown(self) -> None:
        self.shutdowns += 1


@pytest.fixture
def no_pause(monkeypatch):
    monkeypatch.setattr(ray_engine.time, "sleep", lambda seconds: None)


def test_a_client_server_that_fails_to_start_once_is_tried_again(monkeypatch, no_pause):
    fake = FakeRay(["Initialization failure from server: the specific server died"])
    monkeypatch.setattr(ray_engine, "require_ray", lambda: fake)
    with ray_engine.connected("ray://127.0.0.1:10001") as ray:
        assert ray is fake
    assert (fake.inits, fake.shutdowns) == (2, 1)


def test_a_cluster_that_is_not_there_is_said_at_once(monkeypatch, no_pause):
    fake = FakeRay(["ray client connection timeout"])
    monkeypatch.setattr(ray_engine, "require_ray", lambda: fake)
    with pytest.raises(ray_engine.ClusterUnavailable, match="no Ray cluster at ray://127.0.0.1:10001"):
        with ray_engine.connected("ray://127.0.0.1:10001"):
            pass
    assert fake.inits == 1


def test_the_client_start_is_tried_a_bounded_number_of_times(monkeypatch, no_pause):
    fake = FakeRay(["Initialization failure from server"] * 10)
    monkeypatch.setattr(ray_engine, "require_ray", lambda: fake)
    with pytest.raises(ray_engine.ClusterUnavailable):
        with ray_engine.connected("ray://127.0.0.1:10001"):
            pass
    assert fake.inits == ray_engine.CLIENT_ATTEMPTS
