
import numpy as np
import pytest
import torch

from kansr.errors import ModelFileError
from kansr.nn import FORMAT_VERSION, KAN, load_model
from kansr.train import fit


@pytest.fixture
def trained(rng):
    X = rng.uniform(-1, 1, (200, 3))
    y = X[:, 0] * X[:, 1] + np.sin(X[:, 2])
    model = KAN([3, [2, 1], 1], grid=5, seed=0, input_names=["a", "b", "c"])
    fit(model, X, y, steps=5, progress=False)
    model.refine(8, X)
    return model, X


def test_round_trip_is_bit_for_bit(trained, tmp_path):
    model, X = trained
    path = tmp_path / "m.kan"
    model.save(path)
    loaded = KAN.load(path)
    assert np.array_equal(model.predict(X), loaded.predict(X))
    assert loaded.width == [3, [2, 1], 1] and loaded.grid_size == 8 and loaded.input_names == ["a", "b", "c"]
    for (ka, va), (kb, vb) in zip(model.state_dict().items(), loaded.state_dict().items()):
        assert ka == kb and torch.equal(va, vb)


def test_save_is_atomic_and_leaves_no_temp_files(trained, tmp_path, monkeypatch):
    model, _ = trained
    path = tmp_path / "m.kan"
    model.save(path)
    original = path.read_bytes()

    def broken_save(obj, f, *a, **k):
        with open(f, "wb") as fh:
            fh.write(b"partial")
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", broken_save)
    with pytest.raises(OSError):
        model.save(path)
    assert path.read_bytes() == original
    assert [p.name for p in tmp_path.iterdir()] == ["m.kan"]


def test_future_version_is_refused(trained, tmp_path):
    model, _ = trained
    path = tmp_path / "m.kan"
    model.save(path)
    payload = torch.load(path, weights_only=True)
    payload["format_version"] = FORMAT_VERSION + 1
    torch.save(payload, path)
    with pytest.raises(ModelFileError, match="newer than this kansr"):
        load_model(path)


def test_truncated_file_is_refused(trained, tmp_path):
    model, _ = trained
    path = tmp_path / "m.kan"
    model.save(path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelFileError, match="truncated or corrupt"):
        load_model(path)


class _Exploit:
    def __reduce__(self):
        return (exec, ("open('PWNED', 'w').write('x')",))


def test_checkpoint_that_runs_code_is_refused(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "evil.kan"
    torch.save({"format": "kansr.KAN", "format_version": 1, "config_json": "{}", "state": _Exploit()}, path)
    with pytest.raises(ModelFileError, match="could run code"):
        load_model(path)
    assert not (tmp_path / "PWNED").exists()


def test_wrong_shapes_and_foreign_files_are_refused(trained, tmp_path):
    model, _ = trained
    path = tmp_path / "m.kan"
    model.save(path)
    payload = torch.load(path, weights_only=True)
    payload["state"]["layers.0.coef"] = torch.zeros(1, 2, 3)
    torch.save(payload, path)
    with pytest.raises(ModelFileError, match="layers.0.coef"):
        load_model(path)
    other = tmp_path / "other.pt"
    torch.save({"weights": torch.zeros(3)}, other)
    with pytest.raises(ModelFileError, match="not a kansr model"):
        load_model(other)
    with pytest.raises(ModelFileError, match="does not exist"):
        load_model(tmp_path / "missing.kan")
