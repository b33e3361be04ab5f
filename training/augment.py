"""Waveform augmentation and mixtures, batched in torch so they run wherever the model trains.

A training row is planned on the CPU (`plan_mixtures`: which clips, which kind of row, which labels) and
rendered on the device (`Augmenter`): each source is cropped to 2 s with a small speed change (pitch and
tempo move together, one cheap resample), sources are mixed at a random level, then the mixture goes
through reverb, noise, one combined EQ (tilt, bells, microphone colour, low-pass) and a final gain.

Row kinds:
    SOLO               one labelled clip
    WITH_ACCOMPANIMENT a labelled clip over an accompaniment clip (target louder); labels of the target
    TWO_TARGETS        two clips of different labels; both labels on
    ACCOMPANIMENT      accompaniment alone (one or two clips); no label on
    EMPTY              silence or noise only; no label on
The last three only exist for the multi-label objective (a softmax row must have exactly one label).

The strong EQ is what stops the model from learning a SoundFont's "channel colour" instead of the
instrument: every row gets a different spectral balance, so only timbre that survives it is useful.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields, replace

import numpy as np
import torch

SOLO, WITH_ACCOMPANIMENT, TWO_TARGETS, ACCOMPANIMENT, EMPTY = range(5)
KIND_NAMES = ("solo", "with_accompaniment", "two_targets", "accompaniment", "empty")


@dataclass(frozen=True)
class AugmentParams:
    crop_seconds: float = 2.0
    p_speed: float = 0.5
    semitones: float = 1.0
    """Speed change up to +-1 semitone (tempo moves with it, +-6 %)."""
    gain_db: tuple[float, float] = (-24.0, 0.0)
    p_eq: float = 0.9
    eq_tilt_db: float = 10.0
    """Tilt: +-this many dB at 50 Hz and 8 kHz relative to 630 Hz (their geometric middle)."""
    eq_bells: int = 3
    eq_bell_db: float = 9.0
    p_mic: float = 0.3
    """Microphone colour: a low cut at 40-250 Hz and a 2-8 kHz presence bump of 2-8 dB."""
    p_lowpass: float = 0.3
    lowpass_hz: tuple[float, float] = (3000.0, 7500.0)
    p_reverb: float = 0.5
    rt60: tuple[float, float] = (0.1, 1.5)
    predelay_ms: tuple[float, float] = (0.0, 40.0)
    wet: tuple[float, float] = (0.1, 0.7)
    p_room: float = 0.0
    """Convolution with a simulated room (image-source early reflections of a random shoebox room, source and
    microphone placed at random, plus a diffuse tail of its reverberation time) instead of ``p_reverb``'s
    exponential noise; the rooms are drawn once per `Augmenter` (``rooms`` of them, seeded)."""
    room_rt60: tuple[float, float] = (0.15, 1.6)
    rooms: int = 96
    p_noise: float = 0.5
    snr_db: tuple[float, float] = (10.0, 40.0)
    p_accompaniment: float = 0.35
    accompaniment_snr_db: tuple[float, float] = (-3.0, 12.0)
    """Target level above the accompaniment."""
    p_two_targets: float = 0.15
    two_targets_db: tuple[float, float] = (-6.0, 6.0)
    p_accompaniment_only: float = 0.12
    p_empty: float = 0.03
    freq_masks: int = 0
    """SpecAugment-style masks on the log-mel: this many bands of up to ``freq_mask_bins`` mel bins per
    clip, set to the features' zero (the AudioSet mean level), so no narrow part of the spectrum -- where
    one bank's samples differ from another's -- can carry a decision alone."""
    freq_mask_bins: int = 16
    time_masks: int = 0
    time_mask_frames: int = 20

    def to_dict(self) -> dict:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, d: dict) -> AugmentParams:
        known = {f.name for f in fields(cls)}
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in d.items() if k in known})

    @classmethod
    def preset(cls, name: str) -> AugmentParams:
        """'full' (everything above) or 'paper' (the paper's random 2 s crop only)."""
        if name == "full":
            return cls()
        if name == "paper":
            off = {f.name: 0.0 for f in fields(cls) if f.name.startswith("p_")}
            return replace(cls(), gain_db=(0.0, 0.0), freq_masks=0, time_masks=0, **off)
        raise ValueError(f"unknown augmentation preset {name!r} (full or paper)")

    def single_label(self) -> AugmentParams:
        """The same without rows whose labels are not exactly one (for the softmax objective)."""
        return replace(self, p_two_targets=0.0, p_accompaniment_only=0.0, p_empty=0.0)


@dataclass
class MixPlan:
    first: np.ndarray
    """(rows,) clip index of the main source, -1 for none (EMPTY rows)."""
    second: np.ndarray
    """(rows,) clip index of the source mixed in, -1 for none."""
    second_db: np.ndarray
    """(rows,) level of the second source relative to the first, dB (RMS)."""
    kinds: np.ndarray
    targets: np.ndarray
    """(rows, labels) float32 multi-hot: the union of the sources' labels."""


def plan_mixtures(primary: np.ndarray, label_ids: np.ndarray, n_labels: int, params: AugmentParams,
                  rng: np.random.Generator) -> MixPlan:
    """Rows built around ``primary`` labelled clips; partners are drawn from the pool ``label_ids``
    (clip index -> label index, -1 for accompaniment)."""
    rows = len(primary)
    accompaniment = np.flatnonzero(label_ids < 0)
    labelled = np.flatnonzero(label_ids >= 0)
    p = np.array([params.p_accompaniment, params.p_two_targets, params.p_accompaniment_only, params.p_empty])
    if len(accompaniment) == 0:
        p[[0, 2]] = 0.0
    if len(np.unique(label_ids[labelled])) < 2:
        p[1] = 0.0
    kinds = rng.choice(5, size=rows, p=np.array([max(0.0, 1.0 - p.sum()), *p]) / max(1.0, p.sum()))
    first = np.asarray(primary, dtype=np.int64).copy()
    second = np.full(rows, -1, dtype=np.int64)
    second_db = np.zeros(rows)
    for r in range(rows):
        k = kinds[r]
        if k == WITH_ACCOMPANIMENT:
            second[r] = rng.choice(accompaniment)
            second_db[r] = -rng.uniform(*params.accompaniment_snr_db)
        elif k == TWO_TARGETS:
            others = labelled[label_ids[labelled] != label_ids[first[r]]]
            second[r] = rng.choice(others)
            second_db[r] = rng.uniform(*params.two_targets_db)
        elif k == ACCOMPANIMENT:
            first[r] = rng.choice(accompaniment)
            if rng.random() < 0.5:
                second[r] = rng.choice(accompaniment)
                second_db[r] = rng.uniform(-6.0, 6.0)
        elif k == EMPTY:
            first[r] = -1
    targets = np.zeros((rows, n_labels), np.float32)
    for column in (first, second):
        ok = column >= 0
        ids = label_ids[column[ok]]
        targets[np.flatnonzero(ok)[ids >= 0], ids[ids >= 0]] = 1.0
    return MixPlan(first, second, second_db, kinds, targets)


# Effects (each batched over rows; parameters are per-row tensors) --------------------------------------


def db_to_gain(db: torch.Tensor) -> torch.Tensor:
    return torch.pow(10.0, db / 20.0)


def rms(x: torch.Tensor) -> torch.Tensor:
    """(rows,) root mean square of each row."""
    return x.square().mean(dim=-1).sqrt()


def apply_gain(x: torch.Tensor, db: torch.Tensor) -> torch.Tensor:
    return x * db_to_gain(db)[:, None]


def speed_crop(audio: torch.Tensor, lengths: torch.Tensor, out: int, factor: torch.Tensor,
               start: torch.Tensor) -> torch.Tensor:
    """Read ``out`` samples from each row at ``factor`` times normal speed from ``start`` (samples),
    linearly interpolated; positions past a row's length read silence."""
    pos = start[:, None].to(audio.dtype) + torch.arange(out, device=audio.device, dtype=audio.dtype) * factor[:, None]
    i0 = pos.floor().long()
    frac = pos - i0
    last = audio.shape[1] - 1
    a = audio.gather(1, i0.clamp(0, last))
    b = audio.gather(1, (i0 + 1).clamp(0, last))
    y = a + (b - a) * frac
    return y * (pos <= (lengths[:, None] - 1).to(audio.dtype))


def frequency_response_db(freqs: torch.Tensor, rows: int, tilt_db: torch.Tensor | None = None,
                          bells: tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None = None,
                          lowcut_hz: torch.Tensor | None = None, lowpass_hz: torch.Tensor | None = None) -> torch.Tensor:
    """(rows, freqs) response in dB of the combined EQ. ``bells`` = (centre Hz, gain dB, width octaves),
    each (rows, n_bells); a zero gain, or an infinite cut-off, switches a part off for a row."""
    f = freqs.clamp_min(20.0)[None, :]
    octaves = torch.log2(f / 630.0)
    db = torch.zeros(rows, len(freqs), device=freqs.device)
    if tilt_db is not None:
        db = db + tilt_db[:, None] * octaves / math.log2(8000.0 / 630.0)
    if bells is not None:
        centre, gain, width = bells
        d = (octaves[:, :, None] - torch.log2(centre / 630.0)[:, None, :]) / width[:, None, :]
        db = db + (gain[:, None, :] * torch.exp(-0.5 * d.square())).sum(dim=-1)
    if lowcut_hz is not None:  # second-order high-pass magnitude
        db = db - 10.0 * torch.log10(1.0 + (lowcut_hz[:, None] / f) ** 4)
    if lowpass_hz is not None:  # eighth-order: steep like an MP3 encoder's cut
        db = db - 10.0 * torch.log10(1.0 + (f / lowpass_hz[:, None]) ** 16)
    return db.clamp(-80.0, 24.0)


def apply_response(x: torch.Tensor, db: torch.Tensor) -> torch.Tensor:
    """Zero-phase filtering by ``db``: a response sampled evenly from 0 Hz to Nyquist at any number of
    points (linearly interpolated onto the rfft bins of 2 * samples; the padding avoids wrap-around)."""
    n = x.shape[-1]
    spectrum = torch.fft.rfft(x, n=2 * n)
    if db.shape[-1] != spectrum.shape[-1]:
        db = torch.nn.functional.interpolate(db[:, None], size=spectrum.shape[-1], mode="linear",
                                             align_corners=True)[:, 0]
    return torch.fft.irfft(spectrum * db_to_gain(db), n=2 * n)[..., :n]


def rfft_freqs(n: int, sample_rate: int, device: torch.device) -> torch.Tensor:
    return torch.fft.rfftfreq(2 * n, 1.0 / sample_rate, device=device)


RESPONSE_POINTS = 2049
"""Frequencies the random EQ is computed at (every 3.9 Hz at 16 kHz): the curves are smooth, and computing
them on all 32,001 bins of a 2 s crop cost more than the filtering itself."""


def reverb(x: torch.Tensor, rt60: torch.Tensor, predelay: torch.Tensor, wet: torch.Tensor, sample_rate: int,
           gen: torch.Generator) -> torch.Tensor:
    """Convolution with exponentially decaying noise (decays 60 dB in ``rt60`` s, starts after
    ``predelay`` s), mixed ``wet`` : 1 - ``wet`` with the dry signal at equal RMS."""
    rows, n = x.shape
    length = int(math.ceil(float(rt60.max()) * sample_rate)) + int(math.ceil(float(predelay.max()) * sample_rate)) + 1
    t = torch.arange(length, device=x.device) / sample_rate
    late = (t[None, :] - predelay[:, None]).clamp_min(0.0)
    envelope = torch.exp(-6.9078 * late / rt60[:, None]) * (t[None, :] >= predelay[:, None])
    ir = torch.randn(rows, length, generator=gen, device=x.device) * envelope
    size = n + length
    wet_signal = torch.fft.irfft(torch.fft.rfft(x, n=size) * torch.fft.rfft(ir, n=size), n=size)[:, :n]
    scale = rms(x) / rms(wet_signal).clamp_min(1e-9)
    return (1.0 - wet[:, None]) * x + wet[:, None] * wet_signal * scale[:, None]


def coloured_noise(rows: int, n: int, exponent: torch.Tensor, sample_rate: int, gen: torch.Generator,
                   device: torch.device) -> torch.Tensor:
    """Unit-RMS noise with power ~ 1/f**exponent per row (0 white, 1 pink, 2 brown)."""
    freqs = torch.fft.rfftfreq(n, 1.0 / sample_rate, device=device).clamp_min(20.0)
    white = torch.randn(rows, n, generator=gen, device=device)
    shaped = torch.fft.irfft(torch.fft.rfft(white) * freqs[None, :] ** (-exponent[:, None] / 2.0), n=n)
    return shaped / rms(shaped).clamp_min(1e-12)[:, None]


def add_noise(x: torch.Tensor, snr_db: torch.Tensor, exponent: torch.Tensor, sample_rate: int,
              gen: torch.Generator, floor_db: torch.Tensor | None = None) -> torch.Tensor:
    """Noise ``snr_db`` below each row's RMS; silent rows get noise at ``floor_db`` dBFS RMS instead."""
    noise = coloured_noise(x.shape[0], x.shape[1], exponent, sample_rate, gen, x.device)
    level = rms(x) * db_to_gain(-snr_db)
    if floor_db is not None:
        level = torch.where(rms(x) > 1e-6, level, db_to_gain(floor_db))
    return x + noise * level[:, None]


def room_responses(count: int, sample_rate: int, rt60: tuple[float, float], seed: int = 0) -> np.ndarray:
    """(count, samples) float32 impulse responses of simulated rooms, each of unit energy.

    Early part: pyroomacoustics' image-source model of a shoebox room (3-30 m wide, 2.5-12 m high) whose
    wall absorption gives a reverberation time drawn from ``rt60``, with the source and the microphone at
    random places in it (reflections up to order 10).
    The late part, which the image-source model truncates, is noise decaying at the room's rate, joined at
    the level the early part has at 40-60 ms.
    """
    import pyroomacoustics as pra

    rng = np.random.default_rng(seed)
    length = int(rt60[1] * sample_rate)
    out = np.zeros((count, length), np.float32)
    _fill_rooms(out, rng, pra, sample_rate, rt60, length)
    return out


def _fill_rooms(out: np.ndarray, rng: np.random.Generator, pra, sample_rate: int, rt60: tuple[float, float],
                length: int) -> None:
    for i in range(len(out)):
        while True:  # a large hall cannot be as dry as a small room: draw again until the pair exists
            dims = rng.uniform([3.0, 3.0, 2.5], [30.0, 20.0, 12.0])
            rt = float(rng.uniform(*rt60))
            try:
                absorption, _ = pra.inverse_sabine(rt, dims)
                break
            except ValueError:
                continue
        room = pra.ShoeBox(dims, fs=sample_rate, materials=pra.Material(float(min(absorption, 0.99))),
                           max_order=10)
        room.add_source(rng.uniform(0.5, dims - 0.5))
        room.add_microphone(rng.uniform(0.5, dims - 0.5))
        room.compute_rir()
        early = np.asarray(room.rir[0][0], dtype=np.float64)
        onset = int(np.argmax(np.abs(early)))
        early = early[max(0, onset - 16):][:length]
        a, b = int(0.04 * sample_rate), int(0.06 * sample_rate)
        level = np.sqrt(np.mean(early[a:b] ** 2)) if len(early) > b else np.sqrt(np.mean(early**2)) * 0.1
        t = np.arange(length) / sample_rate
        tail = rng.standard_normal(length) * np.exp(-6.9078 * t / rt) * level / np.exp(-6.9078 * 0.05 / rt)
        ir = np.where(t < 0.05, 0.0, tail)
        ir[: len(early)] += np.where(t[: len(early)] < 0.05, early, 0.0)
        out[i] = ir / max(np.sqrt(np.sum(ir**2)), 1e-12)


def convolve(x: torch.Tensor, ir: torch.Tensor) -> torch.Tensor:
    """Each row of ``x`` through its row of ``ir`` (cut to x's length), at the dry signal's RMS."""
    n, size = x.shape[1], x.shape[1] + ir.shape[1]
    y = torch.fft.irfft(torch.fft.rfft(x, n=size) * torch.fft.rfft(ir, n=size), n=size)[:, :n]
    return y * (rms(x) / rms(y).clamp_min(1e-9))[:, None]


class Augmenter:
    """Renders `MixPlan` rows from a clip pool (clips, samples) into 2 s training waveforms."""

    def __init__(self, params: AugmentParams, sample_rate: int = 16_000) -> None:
        self.params = params
        self.sample_rate = sample_rate
        self.out = int(round(params.crop_seconds * sample_rate))
        self._rooms: torch.Tensor | None = None

    def rooms(self, device) -> torch.Tensor:
        if self._rooms is None or self._rooms.device != torch.device(device):
            bank = room_responses(self.params.rooms, self.sample_rate, self.params.room_rt60)
            self._rooms = torch.from_numpy(bank).to(device)
        return self._rooms

    def _uniform(self, lo_hi: tuple[float, float], rows: int, gen: torch.Generator, device) -> torch.Tensor:
        lo, hi = lo_hi
        return lo + (hi - lo) * torch.rand(rows, generator=gen, device=device)

    def _chance(self, p: float, rows: int, gen: torch.Generator, device) -> torch.Tensor:
        return torch.rand(rows, generator=gen, device=device) < p

    def source(self, audio: torch.Tensor, lengths: torch.Tensor, index: torch.Tensor,
               gen: torch.Generator) -> torch.Tensor:
        """Random 2 s crops (with the speed change) of clips ``index``; rows with index -1 are silent."""
        rows, device = len(index), audio.device
        p = self.params
        semis = self._uniform((-p.semitones, p.semitones), rows, gen, device)
        factor = torch.where(self._chance(p.p_speed, rows, gen, device), torch.pow(2.0, semis / 12.0),
                             torch.ones_like(semis))
        ok = index >= 0
        if not bool(ok.any()):  # e.g. no row of the batch has a second source
            return torch.zeros(rows, self.out, device=device)
        clips = audio[index.clamp_min(0)].float()
        n = lengths[index.clamp_min(0)]
        slack = (n - 1 - (self.out - 1) * factor).clamp_min(0.0)
        start = (torch.rand(rows, generator=gen, device=device) * slack).floor()
        return speed_crop(clips, n, self.out, factor, start) * ok[:, None]

    def mask_features(self, feats: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        """``feats`` (rows, frames, mels) with the SpecAugment masks of the parameters, in place."""
        p = self.params
        for axis, count, widest in ((2, p.freq_masks, p.freq_mask_bins), (1, p.time_masks, p.time_mask_frames)):
            if count <= 0 or widest <= 0:
                continue
            rows, size = feats.shape[0], feats.shape[axis]
            width = torch.randint(0, min(widest, size) + 1, (rows, count), generator=gen, device=feats.device)
            start = (torch.rand(rows, count, generator=gen, device=feats.device) * (size - width + 1)).floor()
            at = torch.arange(size, device=feats.device)
            hit = ((at >= start[..., None]) & (at < (start + width)[..., None])).any(dim=1)  # (rows, size)
            feats.masked_fill_(hit[:, None, :] if axis == 2 else hit[:, :, None], 0.0)
        return feats

    def __call__(self, audio: torch.Tensor, lengths: torch.Tensor, plan: MixPlan,
                 gen: torch.Generator) -> torch.Tensor:
        """(rows, crop samples) float32 for ``plan`` drawn from ``audio`` (clips, samples) on its device."""
        device, p, sr = audio.device, self.params, self.sample_rate
        rows = len(plan.first)
        first = self.source(audio, lengths, torch.as_tensor(plan.first, device=device), gen)
        second = self.source(audio, lengths, torch.as_tensor(plan.second, device=device), gen)
        level = rms(first) * db_to_gain(torch.as_tensor(plan.second_db, dtype=torch.float32, device=device))
        level = torch.where(rms(first) > 1e-6, level, torch.full_like(level, 0.1))
        x = first + second * (level / rms(second).clamp_min(1e-9))[:, None]

        roomed = torch.zeros(rows, dtype=torch.bool, device=device)
        if p.p_room > 0:  # drawn only then, so recipes without rooms keep their random stream
            roomed = self._chance(p.p_room, rows, gen, device)
            chosen = roomed.nonzero().flatten()
            if len(chosen):
                bank = self.rooms(device)
                pick = torch.randint(0, len(bank), (len(chosen),), generator=gen, device=device)
                x[chosen] = convolve(x[chosen], bank[pick])
        chosen = (self._chance(p.p_reverb, rows, gen, device) & ~roomed).nonzero().flatten()
        if len(chosen):
            x[chosen] = reverb(x[chosen], self._uniform(p.rt60, len(chosen), gen, device),
                               self._uniform(p.predelay_ms, len(chosen), gen, device) / 1000.0,
                               self._uniform(p.wet, len(chosen), gen, device), sr, gen)

        empty = torch.as_tensor(plan.kinds == EMPTY, device=device)
        noisy = self._chance(p.p_noise, rows, gen, device) | (empty & self._chance(0.5, rows, gen, device))
        chosen = noisy.nonzero().flatten()
        if len(chosen):
            exponent = torch.randint(0, 3, (len(chosen),), generator=gen, device=device).float()
            x[chosen] = add_noise(x[chosen], self._uniform(p.snr_db, len(chosen), gen, device), exponent, sr, gen,
                                  self._uniform((-70.0, -30.0), len(chosen), gen, device))

        x = apply_response(x, self._response(rows, gen, device))
        x = apply_gain(x, self._uniform(p.gain_db, rows, gen, device))
        # A limiter, not clipping: keeps every row inside full scale as a real recording would be.
        peak = x.abs().amax(dim=-1, keepdim=True)
        return x / peak.clamp_min(1.0)

    def _response(self, rows: int, gen: torch.Generator, device) -> torch.Tensor:
        """The combined EQ of every row; rows not chosen for a part get a neutral setting of it."""
        p = self.params
        freqs = torch.linspace(0.0, self.sample_rate / 2, RESPONSE_POINTS, device=device)
        eq = self._chance(p.p_eq, rows, gen, device).float()
        tilt = self._uniform((-p.eq_tilt_db, p.eq_tilt_db), rows, gen, device) * eq
        k = max(1, p.eq_bells)
        centre = torch.exp(self._uniform((math.log(100.0), math.log(7000.0)), rows * k, gen, device)).view(rows, k)
        gain = self._uniform((-p.eq_bell_db, p.eq_bell_db), rows * k, gen, device).view(rows, k)
        gain = gain * eq[:, None] * (p.eq_bells > 0)
        width = self._uniform((0.3, 1.5), rows * k, gen, device).view(rows, k)
        mic = self._chance(p.p_mic, rows, gen, device)
        lowcut = torch.where(mic, self._uniform((40.0, 250.0), rows, gen, device), torch.zeros(rows, device=device))
        presence = torch.stack([
            torch.exp(self._uniform((math.log(2000.0), math.log(8000.0)), rows, gen, device)),
            self._uniform((2.0, 8.0), rows, gen, device) * mic, torch.full((rows,), 0.7, device=device),
        ])
        bells = tuple(torch.cat([a, b[:, None]], dim=1) for a, b in zip((centre, gain, width), presence, strict=True))
        lowpass = torch.where(self._chance(p.p_lowpass, rows, gen, device),
                              self._uniform(p.lowpass_hz, rows, gen, device), torch.full((rows,), math.inf, device=device))
        return frequency_response_db(freqs, rows, tilt, bells, lowcut, lowpass)
