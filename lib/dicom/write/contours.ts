/**
 * Planar contours of a binary mask slice, for RTSTRUCT ContourSequence items.
 *
 * Hand-written (no npm library traces pixel-edge outlines with holes as DICOM expects): the
 * outline follows pixel edges, so every polygon vertex is a pixel corner and every pixel centre
 * lies at least half a pixel from every edge. A polygon-fill reader that tests pixel centres
 * (scikit-image's `draw.polygon`, the reference preprocessing) therefore fills exactly the
 * mask's pixels, whatever its rule for points on an edge.
 *
 * Holes (e.g. a PTV56 ring around PTV70 on a slice) are joined to the outline that surrounds
 * them by a zero-width "keyhole" bridge along a pixel-edge line, as planning systems export
 * them: one closed polygon per connected outline. A doubled bridge changes no pixel centre's
 * even-odd parity, so the filled polygon is the outline minus its holes even for a reader that
 * fills each contour separately and unions them (the reference's behaviour, spec 2.2 step 4).
 *
 * Coordinates are (row, column) pixel-index units: corner (i, j) is at row i - 0.5, column
 * j - 0.5, i.e. the top-left corner of pixel (i, j).
 */

/** a closed polygon as a flat list of (row, col) corner coordinates in pixel-index units */
export type Polygon = Array<[number, number]>;

interface Loop {
  /** corner indices (i, j) in traversal order */
  pts: Array<[number, number]>;
  /** signed area in pixel units (> 0 for an outline, < 0 for a hole) */
  area: number;
  /** centre (row, col) of a pixel just inside the loop's region (set pixel for outlines, unset pixel for holes) */
  probe: [number, number];
}

/**
 * Closed boundary loops of the set pixels of a (rows x cols) slice. `get(r, c)` tells whether a
 * pixel is set. Edges go clockwise on screen (row down) around set pixels; at a corner shared
 * by two diagonal pixels the walk turns so that the loops touch but never cross.
 */
function boundaryLoops(rows: number, cols: number, get: (r: number, c: number) => boolean): Loop[] {
  const W = cols + 1;
  const key = (i: number, j: number) => i * W + j;
  // outgoing edges per corner: at most 2 (saddle); store target corner and the probe pixels
  const out = new Map<
    number,
    Array<{ to: number; ti: number; tj: number; inside: [number, number]; outside: [number, number] }>
  >();
  const add = (i0: number, j0: number, i1: number, j1: number, inside: [number, number], outside: [number, number]) => {
    const k = key(i0, j0);
    let l = out.get(k);
    if (!l) out.set(k, (l = []));
    l.push({ to: key(i1, j1), ti: i1, tj: j1, inside, outside });
  };
  const on = (r: number, c: number) => r >= 0 && c >= 0 && r < rows && c < cols && get(r, c);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      if (!get(r, c)) continue;
      if (!on(r - 1, c)) add(r, c, r, c + 1, [r, c], [r - 1, c]);
      if (!on(r, c + 1)) add(r, c + 1, r + 1, c + 1, [r, c], [r, c + 1]);
      if (!on(r + 1, c)) add(r + 1, c + 1, r + 1, c, [r, c], [r + 1, c]);
      if (!on(r, c - 1)) add(r + 1, c, r, c, [r, c], [r, c - 1]);
    }
  }
  const loops: Loop[] = [];
  for (const [startKey, list] of out) {
    while (list.length) {
      const first = list.pop()!;
      const pts: Array<[number, number]> = [[Math.floor(startKey / W), startKey % W]];
      let area = 0;
      let prev = pts[0];
      let edge = first;
      const probes: Array<{ inside: [number, number]; outside: [number, number] }> = [];
      while (true) {
        probes.push({ inside: edge.inside, outside: edge.outside });
        const cur: [number, number] = [edge.ti, edge.tj];
        // shoelace with x = column, y = row
        area += (prev[1] * cur[0] - cur[1] * prev[0]) / 2;
        if (edge.to === startKey) break;
        pts.push(cur);
        const next = out.get(edge.to)!;
        let pick = 0;
        if (next.length === 2) {
          // saddle: keep the set pixel of the incoming edge on the same side -> turn right on screen
          const din: [number, number] = [cur[0] - prev[0], cur[1] - prev[1]];
          const right: [number, number] = [din[1], -din[0]];
          pick = next.findIndex((e) => e.ti - cur[0] === right[0] && e.tj - cur[1] === right[1]);
          if (pick < 0) pick = 0;
        }
        edge = next.splice(pick, 1)[0];
        prev = cur;
      }
      if (!list.length) out.delete(startKey);
      const probe = area > 0 ? probes[0].inside : probes[0].outside;
      loops.push({ pts, area, probe: [probe[0] + 0.5, probe[1] + 0.5] });
    }
  }
  return loops;
}

/** even-odd test of point (row, col) against a closed polygon of corner coordinates */
function inside(pts: Array<[number, number]>, r: number, c: number): boolean {
  let odd = false;
  for (let a = 0, b = pts.length - 1; a < pts.length; b = a++) {
    const [ra, ca] = pts[a];
    const [rb, cb] = pts[b];
    if (ra > r !== rb > r && c < ((cb - ca) * (r - ra)) / (rb - ra) + ca) odd = !odd;
  }
  return odd;
}

/** drops consecutive duplicates and vertices in the middle of straight runs (same direction) */
function simplify(pts: Array<[number, number]>): Array<[number, number]> {
  let p = pts.filter((v, i) => {
    const w = pts[(i + pts.length - 1) % pts.length];
    return pts.length === 1 || v[0] !== w[0] || v[1] !== w[1];
  });
  let changed = true;
  while (changed && p.length > 3) {
    changed = false;
    const keep: Array<[number, number]> = [];
    for (let i = 0; i < p.length; i++) {
      const a = p[(i + p.length - 1) % p.length];
      const b = p[i];
      const c = p[(i + 1) % p.length];
      const d1 = [Math.sign(b[0] - a[0]), Math.sign(b[1] - a[1])];
      const d2 = [Math.sign(c[0] - b[0]), Math.sign(c[1] - b[1])];
      if (d1[0] === d2[0] && d1[1] === d2[1]) changed = true;
      else keep.push(b);
    }
    p = keep;
  }
  return p;
}

/**
 * Contours of one mask slice: one closed polygon per outline, holes joined in by keyhole
 * bridges. Returned in (row, col) pixel-index coordinates (pixel centres at integers, vertices
 * at half-integers). `get(r, c)` reads the mask.
 */
export function maskSliceContours(rows: number, cols: number, get: (r: number, c: number) => boolean): Polygon[] {
  const loops = boundaryLoops(rows, cols, get);
  const outlines = loops.filter((l) => l.area > 0);
  const holes = loops.filter((l) => l.area < 0);
  const polys = outlines.map((l) => l.pts.slice());
  for (const h of holes) {
    // the smallest outline around the hole's probe pixel (outlines never cross, so it is the one that bounds the hole)
    let best = -1;
    for (let o = 0; o < outlines.length; o++) {
      if (inside(outlines[o].pts, h.probe[0], h.probe[1])) {
        if (best < 0 || outlines[o].area < outlines[best].area) best = o;
      }
    }
    if (best < 0)
      throw new Error(
        'maskSliceContours: a hole without an outline around it (internal error: every hole boundary lies inside an outer boundary)',
      );
    const poly = polys[best];
    // bridge along the hole's first corner row to the nearest outline vertex on that row
    const [hi, hj] = h.pts[0];
    let at = -1;
    for (let v = 0; v < poly.length; v++) {
      if (poly[v][0] !== hi) continue;
      if (at < 0 || Math.abs(poly[v][1] - hj) < Math.abs(poly[at][1] - hj)) at = v;
    }
    if (at < 0)
      throw new Error(
        'maskSliceContours: no outline vertex on the hole row (internal error: the enclosing outline crosses every row of its holes)',
      );
    const ring = [...h.pts, h.pts[0]];
    poly.splice(at + 1, 0, ...ring, poly[at]);
  }
  return polys.map((p) => simplify(p).map(([i, j]) => [i - 0.5, j - 0.5] as [number, number]));
}
