"""Re-implementation of pymedphys ``gamma_shell`` (pymedphys ``lib/pymedphys/_gamma/implementation/shell.py``,
``_utilities/createshells.py`` and ``interpolate/_interp/interp.py``, current HEAD; the reference project
pinned 0.41.0) for one dose-% and one DTA threshold. pymedphys itself is not installable here (no PyPI
access), so this is the peer that vmat's gamma is checked and benchmarked against. Written from the
published algorithm, not copied.

What is reproduced (checked against pymedphys's source, see bench/README.md "gamma peer"):
- normalisation = max(reference) unless given; lower cutoff = cutoff% of it, applied to the
  reference only (points with ref < cutoff are NaN);
- the search loop (``gamma_loop``): distance starts at 0, step = dta / interp_fraction, then
  step = max(distance / interp_fraction / max_gamma, dta / interp_fraction); the DTA itself is
  forced into the distance set (``force_search_distances``); the loop runs while
  distance <= dta * max_gamma and a point keeps searching while gamma > distance / dta;
- per distance (``calculate_min_dose_difference``): the shell of ``calculate_coordinates_shell_3d``
  (rows in elevation, points in azimuth; x, y, z of the shell go to array axes 0, 1, 2), added to
  every reference point still searched as an (S, P, 3) array, split in RAM slices of 1.5 GiB as
  pymedphys estimates them, interpolated, min over the shell of |eval - ref| / norm;
- interpolation ``interp_algo="pymedphys"`` (the default): pymedphys's numba trilinear kernel —
  +inf outside [axis[0], axis[-1]] on any axis, upper index = searchsorted (left), lower = upper - 1,
  both clamped into the grid, weights (x - axis[lower]) / (axis[1] - axis[0]), interpolated along
  axis 0, then 1, then 2 as a * (1 - w) + b * w, compiled with ``parallel=True, fastmath=True``;
  the thread count is numba's (NUMBA_NUM_THREADS; the benchmark sets 1). ``interp_algo="scipy"``:
  RegularGridInterpolator(bounds_error=False, fill_value=inf), as pymedphys's scipy option;
- global: |eval - ref| / normalisation; local: |eval - ref| / ref;
- the gamma update ``sqrt((min_diff / (dose% / 100))**2 + (distance / dta)**2)``, minimum with the
  previous value (NaN propagates as np.min does);
- after the loop: inf -> NaN, gamma > max_gamma -> max_gamma.

Back-ends: 'numba' (pymedphys's default interpolation), 'scipy', 'numpy' (vectorised searchsorted +
lerp with scipy's semantics, for machines with numpy only). 'auto' picks the first available.

CLI (used by bench/gamma.ts): python3 gamma_shell.py REF.npy EVAL.npy sy,sx,sz dose_pct dta_mm
cutoff_pct max_gamma|none local(0|1) backend [OUT_GAMMA.npy] -> prints one JSON line; the timed
region is the gamma_shell call alone (numba compiles before it, as pymedphys's cache=True makes a
second process do).
"""
import json
import sys
import time

import numpy as np

DEFAULT_RAM = int(2**30 * 1.5)


def calculate_coordinates_shell_3d(distance, distance_step_size):
    number_of_rows = int(np.ceil(np.pi * distance / distance_step_size)) + 1
    elevation = np.linspace(0, np.pi, number_of_rows)
    row_radii = distance * np.sin(elevation)
    row_circumference = 2 * np.pi * row_radii
    amount_in_row = np.ceil(row_circumference / distance_step_size).astype(int) + 1
    xs, ys, zs = [], [], []
    for i, phi in enumerate(elevation):
        azimuth = np.linspace(0, 2 * np.pi, amount_in_row[i] + 1)[:-1:]
        xs.append(distance * np.sin(phi) * np.cos(azimuth))
        ys.append(distance * np.sin(phi) * np.sin(azimuth))
        zs.append(distance * np.cos(phi) * np.ones_like(azimuth))
    return (np.hstack(xs), np.hstack(ys), np.hstack(zs))


def _find_indices(grid, x):
    """scipy RegularGridInterpolator._find_indices for one axis: cell index and fraction, plus
    an out-of-bounds flag (x outside [grid[0], grid[-1]])."""
    i = np.searchsorted(grid, x) - 1
    i = np.clip(i, 0, len(grid) - 2)
    frac = (x - grid[i]) / (grid[i + 1] - grid[i])
    oob = (x < grid[0]) | (x > grid[-1])
    return i, frac, oob


def interp_numpy(axes, values, points):
    """Trilinear interpolation of values on axes at points (N, 3); +inf outside."""
    idx, fr, oob = [], [], np.zeros(points.shape[0], dtype=bool)
    for d in range(3):
        i, f, o = _find_indices(axes[d], points[:, d])
        idx.append(i)
        fr.append(f)
        oob |= o
    out = np.zeros(points.shape[0])
    for c0 in (0, 1):
        w0 = fr[0] if c0 else 1 - fr[0]
        for c1 in (0, 1):
            w1 = fr[1] if c1 else 1 - fr[1]
            for c2 in (0, 1):
                w2 = fr[2] if c2 else 1 - fr[2]
                out += w0 * w1 * w2 * values[idx[0] + c0, idx[1] + c1, idx[2] + c2]
    out[oob] = np.inf
    return out


def _make_interp(backend):
    if backend in ('auto', 'numba'):
        try:
            import numba  # noqa: F401

            return 'numba', _numba_interp()
        except ImportError:
            if backend == 'numba':
                raise
    if backend in ('auto', 'scipy'):
        try:
            from scipy.interpolate import RegularGridInterpolator

            def interp_scipy(axes, values, points):
                return RegularGridInterpolator(axes, values, bounds_error=False, fill_value=np.inf)(points)

            return 'scipy', interp_scipy
        except ImportError:
            if backend == 'scipy':
                raise
    return 'numpy', interp_numpy


def _numba_interp():
    import numba

    # pymedphys's kernel: same index rules, weights and lerp order, same numba flags
    @numba.njit(parallel=True, fastmath=True, cache=False)
    def _kernel(a0, a1, a2, values, points, fill):
        n = points.shape[0]
        out = np.zeros(n, dtype=np.float64)
        s0 = a0[1] - a0[0]
        s1 = a1[1] - a1[0]
        s2 = a2[1] - a2[0]
        for p in numba.prange(n):
            x = points[p, 0]
            y = points[p, 1]
            z = points[p, 2]
            if not (a0[0] <= x <= a0[-1]) or not (a1[0] <= y <= a1[-1]) or not (a2[0] <= z <= a2[-1]):
                out[p] = fill
                continue
            hi0 = np.searchsorted(a0, x)
            hi1 = np.searchsorted(a1, y)
            hi2 = np.searchsorted(a2, z)
            lo0 = max(hi0 - 1, 0)
            lo1 = max(hi1 - 1, 0)
            lo2 = max(hi2 - 1, 0)
            hi0 = min(hi0, a0.size - 1)
            hi1 = min(hi1, a1.size - 1)
            hi2 = min(hi2, a2.size - 1)
            w0 = (x - a0[lo0]) / s0
            w1 = (y - a1[lo1]) / s1
            w2 = (z - a2[lo2]) / s2
            # along axis 0 first (the four edges), then axis 1, then axis 2
            e00 = values[lo0, lo1, lo2] * (1 - w0) + values[hi0, lo1, lo2] * w0
            e01 = values[lo0, lo1, hi2] * (1 - w0) + values[hi0, lo1, hi2] * w0
            e10 = values[lo0, hi1, lo2] * (1 - w0) + values[hi0, hi1, lo2] * w0
            e11 = values[lo0, hi1, hi2] * (1 - w0) + values[hi0, hi1, hi2] * w0
            f0 = e00 * (1 - w1) + e10 * w1
            f1 = e01 * (1 - w1) + e11 * w1
            out[p] = f0 * (1 - w2) + f1 * w2
        return out

    def interp_numba(axes, values, points):
        return _kernel(axes[0], axes[1], axes[2], values, points, np.inf)

    return interp_numba


def gamma_shell(axes_reference, dose_reference, axes_evaluation, dose_evaluation,
                dose_percent_threshold, distance_mm_threshold, lower_percent_dose_cutoff=20,
                interp_fraction=10, max_gamma=None, local_gamma=False, global_normalisation=None,
                ram_available=DEFAULT_RAM, backend='auto'):
    """Returns (gamma array shaped like dose_reference, backend name)."""
    backend_name, interp = _make_interp(backend)
    if max_gamma is None:
        max_gamma = np.inf
    axes_reference = [np.asarray(a, dtype=float) for a in axes_reference]
    axes_evaluation = [np.asarray(a, dtype=float) for a in axes_evaluation]
    dose_reference = np.asarray(dose_reference, dtype=float)
    dose_evaluation = np.asarray(dose_evaluation, dtype=float)
    dp = float(dose_percent_threshold)
    dta = float(distance_mm_threshold)
    if global_normalisation is None:
        global_normalisation = np.max(dose_reference)
    lower_dose_cutoff = lower_percent_dose_cutoff / 100 * global_normalisation
    maximum_test_distance = dta * max_gamma
    mesh = np.meshgrid(*axes_reference, indexing='ij')
    flat_mesh = np.array([np.ravel(m) for m in mesh])
    flat_ref = np.ravel(dose_reference)
    to_calc = np.ravel(dose_reference >= lower_dose_cutoff)

    current_gamma = np.full(flat_ref.shape, np.inf)
    step = dta / interp_fraction
    to_be_checked = to_calc.copy()
    distance = 0.0
    force = [dta]
    while distance <= maximum_test_distance:
        shell = np.array(calculate_coordinates_shell_3d(distance, step))  # (3, S)
        idx = np.where(to_be_checked)[0]
        n_shell = shell.shape[1]
        ram_needed = n_shell * len(idx) * 32 * 3 * 2
        n_slices = int(np.floor(ram_needed / ram_available)) + 1
        min_diff = np.empty(len(idx))
        for sl in np.array_split(np.arange(len(idx)), n_slices):
            pts_idx = idx[sl]
            ref_xyz = flat_mesh[:, pts_idx]  # (3, P)
            # (S, P, 3): every shell offset added to every reference point, then one row per point
            all_points = np.concatenate(
                [(ref_xyz[d][None, :] + shell[d][:, None])[:, :, None] for d in range(3)], axis=2)
            flat_points = np.column_stack([all_points[..., d].ravel() for d in range(3)])
            ev = interp(axes_evaluation, dose_evaluation, flat_points).reshape(all_points.shape[:-1])
            r = flat_ref[pts_idx][None, :]
            if local_gamma:
                with np.errstate(divide='ignore', invalid='ignore'):
                    rel = (ev - r) / r
            else:
                rel = (ev - r) / global_normalisation
            min_diff[sl] = np.min(np.abs(rel), axis=0)
        g = np.sqrt((min_diff / (dp / 100)) ** 2 + (distance / dta) ** 2)
        current_gamma[idx] = np.min(np.stack([g, current_gamma[idx]]), axis=0)
        still = current_gamma > distance / dta
        to_be_checked = to_calc & still
        if not np.any(to_be_checked):
            break
        step = max(distance / interp_fraction / max_gamma, dta / interp_fraction)
        distance += step
        if force and distance >= force[0]:
            distance = force.pop(0)
    gamma = current_gamma.reshape(dose_reference.shape)
    gamma[np.isinf(gamma)] = np.nan
    with np.errstate(invalid='ignore'):
        gamma[gamma > max_gamma] = max_gamma
    return gamma, backend_name


def pass_rates(gamma):
    valid = gamma[np.isfinite(gamma)]
    n = valid.size
    return {
        'n_evaluated': int(n),
        'pass_rate': float(100.0 * np.sum(valid < 1) / n) if n else None,
        'pass_rate_le': float(100.0 * np.sum(valid <= 1) / n) if n else None,
        'mean_gamma': float(np.mean(valid)) if n else None,
    }


def main(argv):
    ref = np.load(argv[0]).astype(float)
    ev = np.load(argv[1]).astype(float)
    sp = [float(s) for s in argv[2].split(',')]
    dp, dta, cutoff = float(argv[3]), float(argv[4]), float(argv[5])
    max_gamma = None if argv[6] == 'none' else float(argv[6])
    local = argv[7] == '1'
    backend = argv[8] if len(argv) > 8 else 'auto'
    out_gamma = argv[9] if len(argv) > 9 else None
    axes = [np.arange(n) * s for n, s in zip(ref.shape, sp)]
    if backend in ('auto', 'numba'):
        # compile outside the timed region (pymedphys users pay this once per process too)
        tiny = np.zeros((3, 3, 3))
        tiny[1, 1, 1] = 1.0
        gamma_shell([np.arange(3.0)] * 3, tiny, [np.arange(3.0)] * 3, tiny, 3, 3, 10, backend=backend)
    t0 = time.perf_counter()
    gamma, name = gamma_shell(axes, ref, axes, ev, dp, dta, cutoff, max_gamma=max_gamma, local_gamma=local, backend=backend)
    seconds = time.perf_counter() - t0
    out = pass_rates(gamma)
    out.update({'seconds': seconds, 'backend': name})
    if out_gamma:
        np.save(out_gamma, gamma)
    print(json.dumps(out))


if __name__ == '__main__':
    main(sys.argv[1:])
