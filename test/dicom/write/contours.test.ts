/**
 * Mask slice -> contours -> polygon fill gives back the mask exactly: checked with the
 * reference's own fill (scikit-image draw.polygon per contour, OR-ed; Debian python3-skimage) on
 * shapes with holes, islands in holes, diagonal touches, rings, edge-touching blobs and random
 * masks.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { maskSliceContours } from '../../../lib/dicom/write/contours';
import { Rng } from '../../../lib/core/rng';
import { DICOM_FIX, pythonMissing, runPy } from '../helpers';

function parse(art: string[]): { rows: number; cols: number; m: Uint8Array } {
  const rows = art.length;
  const cols = art[0].length;
  const m = new Uint8Array(rows * cols);
  art.forEach((line, r) => [...line].forEach((ch, c) => (m[r * cols + c] = ch === '#' ? 1 : 0)));
  return { rows, cols, m };
}

const SHAPES: string[][] = [
  ['#'],
  ['.....', '.###.', '.#.#.', '.###.', '.....'],
  ['#######', '#.....#', '#.###.#', '#.#.#.#', '#.###.#', '#.....#', '#######'],
  ['#.#', '.#.', '#.#'],
  ['##..', '##..', '..##', '..##'],
  ['########', '#..##..#', '#..##..#', '########', '#......#', '########'],
  ['.#.#.#', '#.#.#.', '.#.#.#'],
  ['#####', '#...#', '#.#.#', '#...#', '#####'],
];

function randomMask(rng: Rng, rows: number, cols: number): Uint8Array {
  const m = new Uint8Array(rows * cols);
  for (let b = 0; b < 4; b++) {
    const cy = rng.uniform(0, rows);
    const cx = rng.uniform(0, cols);
    const ry = rng.uniform(2, rows / 2);
    const rx = rng.uniform(2, cols / 2);
    const hole = rng.uniform(0, 1) < 0.4;
    for (let r = 0; r < rows; r++)
      for (let c = 0; c < cols; c++) {
        const d = ((r - cy) / ry) ** 2 + ((c - cx) / rx) ** 2;
        if (d <= 1) m[r * cols + c] = hole && d < 0.3 ? 0 : 1;
      }
  }
  // salt and pepper: isolated pixels and pinholes
  for (let k = 0; k < 12; k++) m[Math.floor(rng.uniform(0, rows * cols))] ^= 1;
  return m;
}

test(
  'mask slice -> keyhole contours -> skimage polygon fill (per contour, OR) gives the mask back exactly',
  { skip: pythonMissing('skimage', 'numpy') ?? false },
  () => {
    const rng = Rng.fromSeed('contours-test');
    const cases: Array<{ rows: number; cols: number; m: Uint8Array }> = SHAPES.map(parse);
    for (let k = 0; k < 40; k++) cases.push({ rows: 24, cols: 31, m: randomMask(rng, 24, 31) });
    for (const size of [
      [24, 31],
      [1, 1],
      [3, 3],
      [7, 7],
      [4, 4],
      [6, 8],
      [3, 6],
      [5, 5],
    ]) {
      const group = cases.filter((c) => c.rows === size[0] && c.cols === size[1]);
      if (!group.length) continue;
      const slices = group.map((c) => maskSliceContours(c.rows, c.cols, (r, cc) => c.m[r * c.cols + cc] !== 0));
      const got = runPy<{ masks: number[][] }>(path.join(DICOM_FIX, 'fill_polygons.py'), { shape: size, slices });
      group.forEach((c, i) =>
        assert.deepEqual(got.masks[i], Array.from(c.m), `shape ${size} #${i}: ${JSON.stringify(slices[i])}`),
      );
    }
  },
);

test('contours: one polygon per outline, vertices on pixel corners, holes bridged into their outline', () => {
  const ring = parse(['#####', '#...#', '#.#.#', '#...#', '#####']);
  const polys = maskSliceContours(ring.rows, ring.cols, (r, c) => ring.m[r * ring.cols + c] !== 0);
  // the ring (with its hole) and the island inside the hole
  assert.equal(polys.length, 2);
  for (const p of polys)
    for (const [r, c] of p) assert.ok(Math.abs(r % 1) === 0.5 && Math.abs(c % 1) === 0.5, `${r},${c}`);
  const island = polys.find((p) => p.length === 4)!;
  assert.deepEqual(
    [...island].sort(),
    [
      [1.5, 1.5],
      [1.5, 2.5],
      [2.5, 1.5],
      [2.5, 2.5],
    ].sort(),
  );
  assert.deepEqual(
    maskSliceContours(3, 3, () => false),
    [],
  );
});
