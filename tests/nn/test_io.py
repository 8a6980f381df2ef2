
import json
import time

import numpy as np
import pytest
import torch

import kansr.nn._model
from kansr.errors import ModelFileError
from kansr.nn import FORMAT_VERSION, KAN, load_model
from kansr.symbolic import fix_symbolic
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


def _tamper(path, edit):
    """Rewrite a saved model file after ``edit(config, state)`` changed its description or tensors."""
    payload = torch.load(path, weights_only=True)
    config = json.loads(payload["config_json"])
    edit(config, payload["state"])
    payload["config_json"] = json.dumps(config)
    torch.save(payload, path)


@pytest.fixture
def saved_with_sin_edge(trained, tmp_path):
    """A model file whose edge (0, 0, 0) is symbolic (sin), and the model saved in it."""
    model, X = trained
    model = model.copy()
    fix_symbolic(model, 0, 0, 0, "sin", fit_params=False, params=(1.0, 0.0, 1.0, 0.0))
    path = tmp_path / "m.kan"
    model.save(path)
    return path, model, X


def test_round_trip_keeps_symbolic_edges_and_other_architectures(saved_with_sin_edge, tmp_path, rng):
    path, model, X = saved_with_sin_edge
    loaded = KAN.load(path)
    assert loaded.layers[0].symbolic_names[0][0] == "sin"
    assert np.array_equal(model.predict(X), loaded.predict(X))
    other = KAN([2, [1, 2], [1, 1], 1], grid=4, k=2, mult_arity=3, dtype=torch.float64, seed=1)
    other.save(tmp_path / "other.kan")
    X2 = rng.uniform(-1, 1, (50, 2))
    assert np.array_equal(other.predict(X2), KAN.load(tmp_path / "other.kan").predict(X2))


def _set_layer0(key, value):
    return lambda c, s: c["layers"][0].__setitem__(key, value)


@pytest.mark.parametrize(
    ("edit", "match"),
    [
        # silently lost the sin edge before: now the layer count must match the width
        (lambda c, s: c.__setitem__("layers", c["layers"][:1]), "field 'layers' has 1 entries for the 2 layers"),
        (lambda c, s: c["layers"][0].pop("G"), r"field 'layers\[0\]\.G' is missing"),  # was a raw KeyError
        (_set_layer0("symbolic_names", None), r"'layers\[0\]\.symbolic_names' must be a list"),  # was a TypeError
        (_set_layer0("G", 0), r"'layers\[0\]\.G' must be >= 1"),
        (_set_layer0("G", "8"), r"'layers\[0\]\.G' must be an integer"),
        (_set_layer0("base_fun", "tanh"), r"'layers\[0\]\.base_fun' is 'tanh' but 'base_fun' is 'silu'"),
        (lambda c, s: c["layers"][0]["symbolic_names"].pop(), r"symbolic_names' must be 3 lists of 4 entries"),
        (lambda c, s: c["layers"][0]["symbolic_names"][1].__setitem__(2, 7), "function names or null"),
        (lambda c, s: c["layers"][0]["symbolic_names"][1].__setitem__(2, "no_such_fn"), r"\['no_such_fn'\].*library="),
        # the sin edge erased from the description but still marked symbolic in the tensors
        (lambda c, s: c["layers"][0]["symbolic_names"][0].__setitem__(0, None), "does not match tensor 'layers.0.symbolic_mask'"),
        (lambda c, s: c.__setitem__("grid", [8, 9]), r"'grid\[1\]' is 9 but 'layers\[1\]\.G' is 8"),
        (lambda c, s: c.__setitem__("grid", [8]), "field 'grid' has 1 entries"),
        (lambda c, s: c.__setitem__("k", True), "'k' must be an integer, got bool"),
        (lambda c, s: c.__setitem__("k", 99), "'k' must be between 1 and 10"),
        (lambda c, s: c.__setitem__("mult_arity", 1), "'mult_arity' must be >= 2"),
        (lambda c, s: c.__setitem__("dtype", "int64"), "'dtype' is 'int64'"),
        (lambda c, s: c.__setitem__("base_fun", "os.system"), "'base_fun' is 'os.system'"),
        (lambda c, s: c.__setitem__("width", [3, "2", 1]), r"field 'width': width\[1\] must hold integers"),
        (lambda c, s: c.__setitem__("width", None), "'width' must be a list"),
        (lambda c, s: c.__setitem__("input_names", ["a", "b"]), "'input_names' must be a list of 3 strings"),
        (lambda c, s: c.__setitem__("init_params", None), "'init_params' must be an object"),
        (lambda c, s: c.__setitem__("init_params", {"sigma": [1e9]}), "'init_params' must map parameter names to finite"),
        (lambda c, s: c.pop("seed"), "field 'seed' is missing"),
        (lambda c, s: c.__setitem__("width", [3, [2, 2], 1]), "'layers.0.coef' has shape .* implies"),
        (lambda c, s: s.__setitem__("layers.0.bias", s["layers.0.bias"].double()), "'layers.0.bias' is torch.float64"),
        (lambda c, s: s.__setitem__("extra", torch.zeros(1)), r"unexpected \['extra'\]"),
        (lambda c, s: s.__setitem__("layers.1.mask", [1.0]), "'layers.1.mask' must be a tensor"),
    ],
)
def test_tampered_description_is_refused_naming_file_and_field(saved_with_sin_edge, edit, match):
    path = saved_with_sin_edge[0]
    _tamper(path, edit)
    with pytest.raises(ModelFileError, match=match) as info:
        load_model(path)
    assert str(path) in str(info.value)


@pytest.mark.parametrize("as_view", [False, True])
def test_huge_declared_width_fails_fast_without_building_the_model(saved_with_sin_edge, monkeypatch, as_view):
    path = saved_with_sin_edge[0]
    KAN.load(path)  # imports done: the time below is the check's

    def declare_huge(config, state):
        config["width"] = [3, 3_000_000, 1]  # a 1.6 GB model declared in a few KB
        if as_view:  # tensors of the declared shapes over a one-value storage (stride 0)
            for name, tensor in list(state.items()):
                shape = list(tensor.shape)
                if name.startswith("layers.0.") and not name.endswith(".grid"):
                    shape[1 if name.endswith(".affine") else -1] = 3_000_000  # layer 0's outputs
                elif name.startswith("layers.1.") and not name.endswith(".bias"):
                    shape[0] = 3_000_000  # layer 1's inputs
                if shape != list(tensor.shape):
                    state[name] = torch.zeros(1, dtype=tensor.dtype).expand(*shape)

    _tamper(path, declare_huge)
    assert path.stat().st_size < 20_000

    def no_layers(*args, **kwargs):
        raise AssertionError("the model was built from a tampered description")

    monkeypatch.setattr(kansr.nn._layer.KANLayer, "__init__", no_layers)
    start = time.perf_counter()
    match = "'layers.0.coef' of shape .* is backed by fewer values" if as_view else "'layers.0.coef' has shape .* implies"
    with pytest.raises(ModelFileError, match=match):
        load_model(path)
    assert time.perf_counter() - start < 1.0


@pytest.mark.parametrize("n_in, n_out, G, k", [(2, 3, 5, 3), (1, 1, 1, 1), (4, 2, 12, 2)])
def test_layer_states_its_own_tensor_shapes(n_in, n_out, G, k):
    """Model files are checked against KANLayer.tensor_shapes: it must describe a real layer."""
    from kansr.nn._layer import KANLayer

    layer = KANLayer(n_in, n_out, G, k)
    assert {name: tuple(t.shape) for name, t in layer.state_dict().items()} == KANLayer.tensor_shapes(n_in, n_out, G, k)
