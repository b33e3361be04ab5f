"""Augmentations keep shapes and labels and do what they say."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from training.augment import (
    ACCOMPANIMENT,
    EMPTY,
    SOLO,
    TWO_TARGETS,
    WITH_ACCOMPANIMENT,
    Augmenter,
    AugmentParams,
    add_noise,
    apply_gain,
    apply_response,
    coloured_noise,
    convolve,
    frequency_response_db,
    plan_mixtures,
    reverb,
    rfft_freqs,
    rms,
    room_responses,
    speed_crop,
)

SR = 16_000


def gen(seed: int = 0) -> torch.Generator:
    g = torch.Generator()
    g.manual_seed(seed)
    return g


def band_db(x: torch.Tensor, lo: float, hi: float) -> torch.Tensor:
    """Energy (dB) of each row between lo and hi Hz."""
    power = torch.fft.rfft(x).abs().square()
    f = torch.fft.rfftfreq(x.shape[-1], 1 / SR)
    return 10 * torch.log10(power[:, (f >= lo) & (f < hi)].sum(-1))


def test_gain_changes_rms_by_the_given_decibels():
    x = torch.randn(3, 8000, generator=gen())
    db = torch.tensor([-12.0, 0.0, 6.0])
    change = 20 * torch.log10(rms(apply_gain(x, db)) / rms(x))
    torch.testing.assert_close(change, db, atol=1e-4, rtol=0)


def test_tilt_eq_shifts_the_spectral_balance_by_the_tilt():
    noise = torch.randn(2, 32000, generator=gen(1))
    freqs = rfft_freqs(32000, SR, torch.device("cpu"))
    response = frequency_response_db(freqs, 2, tilt_db=torch.tensor([10.0, -10.0]))
    at = lambda hz: response[:, int(torch.argmin((freqs - hz).abs()))]  # noqa: E731
    torch.testing.assert_close(at(8000.0), torch.tensor([10.0, -10.0]), atol=0.05, rtol=0)
    torch.testing.assert_close(at(50.0), torch.tensor([-10.0, 10.0]), atol=0.05, rtol=0)
    out = apply_response(noise, response)
    balance = (band_db(out, 4000, 8000) - band_db(out, 60, 250)) - (band_db(noise, 4000, 8000) - band_db(noise, 60, 250))
    assert balance[0] > 12 and balance[1] < -12  # the two bands sit about 15 dB apart on the tilt line


def test_bell_boosts_around_its_centre_only():
    freqs = rfft_freqs(16000, SR, torch.device("cpu"))
    bells = (torch.tensor([[1000.0]]), torch.tensor([[9.0]]), torch.tensor([[0.5]]))
    response = frequency_response_db(freqs, 1, bells=bells)[0]
    assert response[torch.argmin((freqs - 1000).abs())] == pytest.approx(9.0, abs=0.05)
    assert abs(float(response[torch.argmin((freqs - 100).abs())])) < 0.01


def test_lowpass_removes_the_top_of_the_spectrum():
    noise = torch.randn(1, 32000, generator=gen(2))
    freqs = rfft_freqs(32000, SR, torch.device("cpu"))
    out = apply_response(noise, frequency_response_db(freqs, 1, lowpass_hz=torch.tensor([3000.0])))
    assert float(band_db(noise, 5000, 8000) - band_db(out, 5000, 8000)) > 40
    assert abs(float(band_db(noise, 100, 2000) - band_db(out, 100, 2000))) < 0.5
    # The same response computed at a few points and interpolated onto the bins filters the same way.
    coarse = torch.linspace(0, SR / 2, 2049)
    approx = apply_response(noise, frequency_response_db(coarse, 1, lowpass_hz=torch.tensor([3000.0])))
    assert float(rms(approx - out) / rms(out)) < 0.01


def test_speed_crop_reads_a_slice_at_speed_one_and_shifts_pitch_otherwise():
    t = torch.arange(40000) / SR
    sine = torch.sin(2 * np.pi * 440 * t)[None].repeat(2, 1)
    lengths = torch.tensor([40000, 40000])
    out = speed_crop(sine, lengths, 16000, torch.tensor([1.0, 2 ** (1 / 12)]), torch.tensor([123.0, 0.0]))
    assert out.shape == (2, 16000)
    torch.testing.assert_close(out[0], sine[0, 123:16123])
    peak = torch.fft.rfftfreq(16000, 1 / SR)[torch.fft.rfft(out[1]).abs().argmax()]
    assert float(peak) == pytest.approx(440 * 2 ** (1 / 12), abs=1.5)


def test_speed_crop_reads_silence_past_a_clip_end():
    audio = torch.ones(1, 1000)
    out = speed_crop(audio, torch.tensor([600]), 800, torch.tensor([1.0]), torch.tensor([0.0]))
    assert out[0, :600].eq(1).all() and out[0, 600:].eq(0).all()


def test_reverb_is_causal_with_its_predelay_and_longer_rt60_rings_longer():
    x = torch.zeros(2, 32000)
    x[:, 1600] = 1.0  # an impulse at 0.1 s
    out = reverb(x, torch.tensor([0.2, 1.2]), torch.tensor([0.05, 0.05]), torch.tensor([1.0, 1.0]), SR, gen(3))
    assert out.shape == x.shape
    assert out[:, :1600 + 790].abs().max() < 1e-4  # nothing before the impulse plus 50 ms of predelay
    assert out[:, 1600 + 810: 1600 + 1600].abs().max() > 1e-3
    tail = out[:, 16000:].square().sum(-1)  # 0.9 s after the impulse
    assert tail[1] > 100 * tail[0]


def test_noise_is_added_at_the_requested_snr_and_silent_rows_get_the_floor():
    x = torch.randn(3, 16000, generator=gen(4)) * torch.tensor([[0.3], [0.05], [0.0]])
    snr = torch.tensor([10.0, 30.0, 20.0])
    out = add_noise(x, snr, torch.tensor([0.0, 1.0, 2.0]), SR, gen(5), floor_db=torch.tensor([-40.0, -40.0, -40.0]))
    noise = out - x
    measured = 20 * torch.log10(rms(x[:2]) / rms(noise[:2]))
    torch.testing.assert_close(measured, snr[:2], atol=1e-3, rtol=0)
    assert 20 * np.log10(float(rms(noise[2:]))) == pytest.approx(-40.0, abs=1e-3)


def test_pink_and_brown_noise_tilt_towards_the_bass():
    n = coloured_noise(3, 32000, torch.tensor([0.0, 1.0, 2.0]), SR, gen(6), torch.device("cpu"))
    slope = band_db(n, 4000, 8000) - band_db(n, 62.5, 125)  # one octave each, 6 octaves apart
    # White: equal energy per Hz, so the 64x wider high band holds ~18 dB more; pink: equal per octave; brown: -18.
    assert slope[0] == pytest.approx(18.1, abs=1.5)
    assert slope[1] == pytest.approx(0.0, abs=1.5)
    assert slope[2] == pytest.approx(-18.1, abs=1.5)


# Mixtures -------------------------------------------------------------------------------------------------

# A pool of 4 labels x 3 clips and 4 accompaniment clips.
POOL_LABELS = np.array([0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3, -1, -1, -1, -1])


def _plan(params: AugmentParams, rows: int = 400, seed: int = 0):
    primary = np.random.default_rng(seed).choice(np.flatnonzero(POOL_LABELS >= 0), rows)
    return plan_mixtures(primary, POOL_LABELS, 4, params, np.random.default_rng(seed + 1))


def test_mixture_labels_are_unions_and_negatives_have_none():
    plan = _plan(AugmentParams(p_accompaniment=0.25, p_two_targets=0.25, p_accompaniment_only=0.25, p_empty=0.1))
    assert set(np.unique(plan.kinds)) == {SOLO, WITH_ACCOMPANIMENT, TWO_TARGETS, ACCOMPANIMENT, EMPTY}
    for r, kind in enumerate(plan.kinds):
        f, s = plan.first[r], plan.second[r]
        expected = np.zeros(4)
        for i in (f, s):
            if i >= 0 and POOL_LABELS[i] >= 0:
                expected[POOL_LABELS[i]] = 1
        np.testing.assert_array_equal(plan.targets[r], expected)
        if kind == TWO_TARGETS:
            assert POOL_LABELS[f] != POOL_LABELS[s] and plan.targets[r].sum() == 2
        elif kind == WITH_ACCOMPANIMENT:
            assert POOL_LABELS[s] == -1 and plan.targets[r].sum() == 1 and -12 <= plan.second_db[r] <= 3
        elif kind in (ACCOMPANIMENT, EMPTY):
            assert not plan.targets[r].any()
            assert (f == -1) if kind == EMPTY else POOL_LABELS[f] == -1


def test_single_label_plans_hold_exactly_one_label_per_row():
    plan = _plan(AugmentParams().single_label())
    assert set(np.unique(plan.kinds)) <= {SOLO, WITH_ACCOMPANIMENT}
    assert (plan.targets.sum(axis=1) == 1).all()


def test_without_accompaniment_no_row_asks_for_it():
    labels = POOL_LABELS[POOL_LABELS >= 0]
    plan = plan_mixtures(np.arange(len(labels)).repeat(20), labels, 4, AugmentParams(), np.random.default_rng(0))
    assert not np.isin(plan.kinds, [WITH_ACCOMPANIMENT, ACCOMPANIMENT]).any()


def _pool(seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    audio = torch.randn(len(POOL_LABELS), 47555, generator=gen(seed)) * 0.2
    return audio.half(), torch.full((len(POOL_LABELS),), 47555)


def test_augmenter_renders_two_second_rows_deterministically_within_full_scale():
    audio, lengths = _pool()
    plan = _plan(AugmentParams(), rows=24)
    aug = Augmenter(AugmentParams())
    a, b, c = aug(audio, lengths, plan, gen(7)), aug(audio, lengths, plan, gen(7)), aug(audio, lengths, plan, gen(8))
    assert a.shape == (24, 32000) and a.dtype == torch.float32
    assert torch.isfinite(a).all() and a.abs().max() <= 1.0 + 1e-6
    torch.testing.assert_close(a, b, rtol=0, atol=0)
    assert not torch.equal(a, c)


def test_paper_preset_is_a_plain_random_crop():
    ramp = torch.arange(47555, dtype=torch.float32) / 47555  # a sample's value tells its position
    audio, lengths = ramp[None].repeat(len(POOL_LABELS), 1), torch.full((len(POOL_LABELS),), 47555)
    plan = _plan(AugmentParams.preset("paper"), rows=4)
    assert (plan.kinds == SOLO).all()
    out = Augmenter(AugmentParams.preset("paper"))(audio, lengths, plan, gen(9))
    starts = [round(float(row[0]) * 47555) for row in out]
    assert len(set(starts)) > 1
    for row, start in zip(out, starts, strict=True):
        torch.testing.assert_close(row, ramp[start: start + 32000], atol=1e-5, rtol=0)


def test_accompaniment_is_mixed_below_the_target_by_the_planned_amount():
    audio = torch.zeros(len(POOL_LABELS), 47555)
    audio[0] = torch.sin(torch.arange(47555) * 0.3) * 0.1  # quiet: the limiter must not act
    audio[12] = torch.randn(47555, generator=gen(10)) * 0.1
    lengths = torch.full((len(POOL_LABELS),), 47555)
    params = AugmentParams.preset("paper")
    plan = plan_mixtures(np.array([0]), POOL_LABELS, 4, params, np.random.default_rng(0))
    plan.second[0], plan.second_db[0], plan.kinds[0] = 12, -6.0, WITH_ACCOMPANIMENT
    mixed = Augmenter(params)(audio, lengths, plan, gen(11))[0]
    solo_plan = plan_mixtures(np.array([0]), POOL_LABELS, 4, params, np.random.default_rng(0))
    target = Augmenter(params)(audio, lengths, solo_plan, gen(11))[0]  # same crop: same generator draws
    accompaniment = mixed - target
    assert 20 * np.log10(float(rms(accompaniment[None]) / rms(target[None]))) == pytest.approx(-6.0, abs=0.3)


def _runs(mask: torch.Tensor) -> list[int]:
    """Lengths of the runs of True in a 1-D mask."""
    edges = np.diff(np.concatenate([[0], mask.numpy().astype(int), [0]]))
    return list(np.flatnonzero(edges == -1) - np.flatnonzero(edges == 1))


def test_spectrogram_masks_blank_whole_bands_and_stretches_within_their_widths():
    params = AugmentParams(freq_masks=2, freq_mask_bins=16, time_masks=2, time_mask_frames=20)
    feats = torch.randn(32, 198, 128) + 5.0  # no value is zero before masking
    out = Augmenter(params).mask_features(feats.clone(), torch.Generator().manual_seed(0))
    bands, stretches = (out == 0).all(dim=1), (out == 0).all(dim=2)
    assert torch.equal(out == 0, bands[:, None, :] | stretches[:, :, None])  # nothing but whole bands/stretches
    assert all(sum(_runs(row)) <= 2 * 16 and max(_runs(row), default=0) <= 2 * 16 for row in bands)
    assert all(sum(_runs(row)) <= 2 * 20 for row in stretches)
    assert bands.any(dim=1).float().mean() > 0.8 and stretches.any(dim=1).float().mean() > 0.8
    kept = ~(bands[:, None, :] | stretches[:, :, None])
    assert torch.equal(out[kept], feats[kept])
    again = Augmenter(params).mask_features(feats.clone(), torch.Generator().manual_seed(0))
    assert torch.equal(out, again)


def test_no_masks_unless_asked_and_none_in_the_paper_preset():
    feats = torch.randn(4, 198, 128)
    for params in (AugmentParams(), AugmentParams.preset("paper")):
        assert torch.equal(Augmenter(params).mask_features(feats.clone(), torch.Generator()), feats)


def _decay_time(ir: np.ndarray) -> float:
    """Reverberation time from the Schroeder integral's -5 to -25 dB slope."""
    energy = np.cumsum(ir[::-1].astype(np.float64) ** 2)[::-1]
    db = 10 * np.log10(energy / energy[0] + 1e-15)
    return 3.0 * (int(np.argmax(db < -25)) - int(np.argmax(db < -5))) / SR


def test_simulated_rooms_have_unit_energy_a_direct_sound_first_and_their_drawn_decay():
    pytest.importorskip("pyroomacoustics")
    dry = room_responses(4, SR, (0.2, 0.3), seed=1)
    wet = room_responses(4, SR, (1.2, 1.4), seed=1)
    for bank in (dry, wet):
        np.testing.assert_allclose((bank.astype(np.float64) ** 2).sum(axis=1), 1.0, rtol=1e-4)
        assert (np.abs(bank).argmax(axis=1) < SR // 100).all()  # the direct path leads
    assert max(_decay_time(ir) for ir in dry) < 0.45 < 0.8 < min(_decay_time(ir) for ir in wet)
    np.testing.assert_array_equal(dry, room_responses(4, SR, (0.2, 0.3), seed=1))


def test_rooms_replace_the_noise_reverb_when_chosen_and_leave_the_stream_alone_when_not():
    audio, lengths = _pool()
    plan = _plan(AugmentParams(), rows=8)
    base = AugmentParams()
    off = Augmenter(base)(audio, lengths, plan, gen(3))
    zero = Augmenter(AugmentParams.from_dict(base.to_dict() | {"p_room": 0.0}))(audio, lengths, plan, gen(3))
    torch.testing.assert_close(off, zero, rtol=0, atol=0)
    pytest.importorskip("pyroomacoustics")  # the rooms below are simulated with it
    x = torch.zeros(2, 4000)
    x[:, 0] = 1.0
    ir = torch.from_numpy(room_responses(2, SR, (0.3, 0.4), seed=2))
    y = convolve(x, ir)
    torch.testing.assert_close(rms(y), rms(x))
    torch.testing.assert_close(y / y.abs().amax(dim=1, keepdim=True),
                               ir[:, :4000] / ir[:, :4000].abs().amax(dim=1, keepdim=True), atol=1e-4, rtol=0)
    params = AugmentParams.from_dict(base.to_dict() | {"p_room": 1.0, "rooms": 3})
    roomy = Augmenter(params)(audio, lengths, plan, gen(3))
    assert torch.isfinite(roomy).all() and not torch.equal(roomy, off)
