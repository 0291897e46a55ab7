/**
 * Polygon fill identical to `skimage.draw.polygon(r, c, shape)` (scikit-image 0.19-0.25): a
 * pixel (row i, column j) is filled when its centre is inside the polygon, on an edge, or within
 * 1e-12 of a vertex, by the crossing test of `skimage/_shared/geometry.pyx`
 * (`point_in_polygon`, O'Rourke 1998, ch. 7); the polygon is closed implicitly; the scan box is
 * rows floor(max(0, min r)) .. min(ceil(max r), rows − 1) (columns alike), so a partly outside
 * polygon is clipped to the image.
 *
 * Hand-written because the result must match scikit-image pixel for pixel (edge and vertex
 * cases included), which no npm rasteriser promises. skimage tests every pixel of the box
 * against every edge; here only the edges that straddle the pixel's row are tested (the others
 * contribute no crossing), with the same floating-point expressions, so the decision per pixel is
 * the same and the cost is O(box × straddling edges) instead of O(box × vertices).
 */

const EPS = 1e-12;

/**
 * Calls `set(row, col)` for every pixel skimage would fill. `r`/`c` are the vertex row and
 * column coordinates (pixel units, float64), `rows`/`cols` the image size.
 */
export function fillPolygon(
  r: Float64Array,
  c: Float64Array,
  rows: number,
  cols: number,
  set: (row: number, col: number) => void,
): void {
  const n = r.length;
  if (n === 0 || c.length !== n) return;
  let rMin = Infinity;
  let rMax = -Infinity;
  let cMin = Infinity;
  let cMax = -Infinity;
  for (let i = 0; i < n; i++) {
    if (r[i] < rMin) rMin = r[i];
    if (r[i] > rMax) rMax = r[i];
    if (c[i] < cMin) cMin = c[i];
    if (c[i] > cMax) cMax = c[i];
  }
  if (!(Number.isFinite(rMin) && Number.isFinite(rMax) && Number.isFinite(cMin) && Number.isFinite(cMax))) return;
  // Cython: minr = int(max(0, r.min())) (truncation of a non-negative value), maxr = int(ceil(r.max()))
  const minr = Math.trunc(Math.max(0, rMin));
  const maxr = Math.min(rows - 1, Math.ceil(rMax));
  const minc = Math.trunc(Math.max(0, cMin));
  const maxc = Math.min(cols - 1, Math.ceil(cMax));
  if (minr > maxr || minc > maxc) return;
  const rEdges = new Int32Array(n); // edges straddling the ray's y (y0 > 0) != (y1 > 0)
  const lEdges = new Int32Array(n); // reversed straddle (y0 < 0) != (y1 < 0)
  const vIdx = new Int32Array(n); // vertices whose row is within eps of the pixel row
  for (let row = minr; row <= maxr; row++) {
    let nr = 0;
    let nl = 0;
    let nv = 0;
    // edge e = (i-1, i), starting with (n-1, 0), exactly as skimage walks it
    let y1 = r[n - 1] - row;
    for (let i = 0; i < n; i++) {
      const y0 = r[i] - row;
      if (-EPS < y0 && y0 < EPS) vIdx[nv++] = i;
      if (y0 > 0 !== y1 > 0) rEdges[nr++] = i;
      if (y0 < 0 !== y1 < 0) lEdges[nl++] = i;
      y1 = y0;
    }
    if (nr === 0 && nl === 0 && nv === 0) continue;
    for (let col = minc; col <= maxc; col++) {
      let hit = false;
      for (let k = 0; k < nv && !hit; k++) {
        const x0 = c[vIdx[k]] - col;
        if (-EPS < x0 && x0 < EPS) hit = true;
      }
      if (!hit) {
        let rc = 0;
        for (let k = 0; k < nr; k++) {
          const i = rEdges[k];
          const j = i === 0 ? n - 1 : i - 1;
          const x0 = c[i] - col;
          const x1 = c[j] - col;
          const y0 = r[i] - row;
          const yy = r[j] - row;
          if ((x0 * yy - x1 * y0) / (yy - y0) > 0) rc++;
        }
        let lc = 0;
        for (let k = 0; k < nl; k++) {
          const i = lEdges[k];
          const j = i === 0 ? n - 1 : i - 1;
          const x0 = c[i] - col;
          const x1 = c[j] - col;
          const y0 = r[i] - row;
          const yy = r[j] - row;
          if ((x0 * yy - x1 * y0) / (yy - y0) < 0) lc++;
        }
        // skimage: EDGE when the parities differ, INSIDE when r_cross is odd; both are filled
        hit = (rc & 1) === 1 || (lc & 1) === 1;
      }
      if (hit) set(row, col);
    }
  }
}
