"""Retrainings reused across runs (issue 44): a cached retraining is reused only when every input that
determines it is equal; change one and the network is retrained."""

from __future__ import annotations

import shutil
from dataclasses import replace

import pytest
from test_pipeline import tiny_config

import nas_core.training.retrain as retrain_module
from nas_core.data.datasets import DATASETS, ImageData, load_dataset
from nas_core.training.retrain_cache import RetrainCache, code_fingerprint, data_fingerprint
from nas_core.vocabulary import NetworkSize
from predictor_nas.pipeline import ALL_CONV3X3, retrain_final, retraining_inputs


def forbid_training(monkeypatch) -> None:
    def trained(*args, **kwargs):
        raise AssertionError("retrained although every input was equal")

    monkeypatch.setattr(retrain_module, "train_network", trained)


def test_an_equal_retraining_is_reused_with_its_exported_model(tmp_path, monkeypatch):
    cache = RetrainCache(tmp_path / "cache")
    config = tiny_config()
    first = retrain_final("all_conv3x3", ALL_CONV3X3, config, tmp_path / "a", None, None, True, 0, cache)
    assert "cached" not in first
    forbid_training(monkeypatch)
    again = retrain_final("winner", ALL_CONV3X3, config, tmp_path / "b", None, None, True, 0, cache)
    assert again["cached"].startswith(str(cache.root)) and again["name"] == "winner"
    assert again["test_accuracy"] == first["test_accuracy"] and again["history"] == first["history"]
    exported = tmp_path / "b" / "final" / "winner" / "seed_0" / "model.pt2"
    assert (
        again["exported"] == str(exported)
        and exported.read_bytes() == (tmp_path / "a" / "final" / "all_conv3x3" / "seed_0" / "model.pt2").read_bytes()
    )


@pytest.mark.parametrize(
    "change",
    [
        "seed",
        "epochs",
        "lr",
        "images",
        "schedule",
        "network size",
        "arch",
        "export",
        "threads",
        "plain CNN size",
        "dataset",
    ],
)
def test_changing_any_one_input_retrains(tmp_path, monkeypatch, change):
    config, arch, params, seed, export = tiny_config(), ALL_CONV3X3, None, 0, False
    base = retraining_inputs(arch, params, config, seed, export)
    if change == "seed":
        seed = 1
    elif change == "epochs":
        config = replace(config, final=replace(config.final, epochs=3))
    elif change == "lr":
        config = replace(config, final=replace(config.final, lr=0.05))
    elif change == "schedule":
        config = replace(config, final=replace(config.final, lr_schedule="epoch"))
    elif change == "images":
        config = replace(config, final=replace(config.final, images=100))
    elif change == "network size":
        config = replace(config, final=replace(config.final, network=NetworkSize(6, 1)))
    elif change == "arch":
        arch = ALL_CONV3X3.replace("nor_conv_3x3~2", "skip_connect~2")
    elif change == "export":
        export = True
    elif change == "threads":
        monkeypatch.setattr("torch.get_num_threads", lambda: 7)
    elif change == "plain CNN size":
        base = retraining_inputs(None, 5000, config, seed, export)
        arch, params = None, 5001
    elif change == "dataset":
        config = replace(config, training=replace(config.training, dataset="fashion-mnist"))
        monkeypatch.setattr("nas_core.training.retrain_cache.data_fingerprint", lambda *a: "another")
    changed = retraining_inputs(arch, params, config, seed, export)
    assert RetrainCache.key(changed) != RetrainCache.key(base)
    assert RetrainCache.key(retraining_inputs(arch, params, config, seed, export)) == RetrainCache.key(changed)


def test_a_changed_input_trains_again_and_both_entries_stay(tmp_path):
    cache = RetrainCache(tmp_path / "cache")
    config = tiny_config()
    retrain_final("all_conv3x3", ALL_CONV3X3, config, tmp_path / "a", None, None, False, 0, cache)
    other = retrain_final("all_conv3x3", ALL_CONV3X3, config, tmp_path / "b", None, None, False, 1, cache)
    assert "cached" not in other
    assert len([p for p in cache.root.iterdir() if not p.name.startswith(".")]) == 2


def test_the_data_enter_by_content_and_the_code_by_every_source_file(tmp_path, monkeypatch):
    train, test = load_dataset("digits")
    edited = train.images.clone()
    edited[0, 0, 0, 0] ^= 1  # one pixel of one image
    DATASETS.add("digits-edited", lambda root, size: (ImageData(edited, train.labels, 10), test))
    try:
        assert data_fingerprint("digits-edited", None) != data_fingerprint("digits", None)
    finally:
        DATASETS._entries.pop("digits-edited", None)
    package = tmp_path / "pkg"
    shutil.copytree(retrain_module.__file__.rsplit("/", 2)[0], package)
    before = code_fingerprint(package)
    (package / "training" / "trainer.py").write_text((package / "training" / "trainer.py").read_text() + "\n# edit\n")
    code_fingerprint.cache_clear()
    assert code_fingerprint(package) != before


def test_an_entry_without_its_result_is_a_miss(tmp_path):
    cache = RetrainCache(tmp_path / "cache")
    inputs = {"network": "x"}
    (cache.root / cache.key(inputs)).mkdir(parents=True)  # a store interrupted before its result was written
    assert cache.get(inputs, tmp_path / "run") is None


def test_the_cache_location_comes_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("NAS_RETRAIN_CACHE", "off")
    assert RetrainCache.default() is None
    monkeypatch.setenv("NAS_RETRAIN_CACHE", str(tmp_path))
    assert RetrainCache.default() == RetrainCache(tmp_path)
