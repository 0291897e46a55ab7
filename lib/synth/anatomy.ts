/**
 * Synthetic male-pelvis anatomy with seeded per-case variation, drawn on a (Y, X, Z) grid
 * (Y = anterior->posterior, X = patient right->left, Z = inferior->superior; reference npz
 * conventions, spec 1.7: x_max = left, so Femur_L sits at higher X).
 *
 * Organs are analytic solids (ellipsoids, capsules, tubes) placed relative to the prostate
 * centre with sizes from published adult ranges (prostate 25-60 cc, rectum 3-4 cm wide,
 * bladder 100-400 cc, femoral heads ~ 45-52 mm diameter). Organ masks are mutually exclusive
 * (prostate > seminal vesicles > rectum > bladder > bowel) like clinical contours.
 *
 * Targets: PTV70 = prostate (+ proximal 1 cm of seminal vesicles in single-Rx plans) + 7 mm
 * (5 mm posterior). PTV56 (SIB) = prostate + seminal vesicles + 7/5 mm, MINUS PTV70: lower-dose
 * PTVs exclude the higher-dose PTVs they surround, as in the optimisation structures of
 * clinical SIB plans, so the PTV56 DVH describes the elective volume only. PTV50.4 (v2.4,
 * nodal) = pelvic lymph-node CTV (tubes along the iliac vessels, cropped from bladder,
 * rectum, bowel and bone) + 7 mm, minus PTV70 and PTV56.
 */
import type { Shape3 } from '../data/case';
import { Rng } from '../core/rng';
import {
  Grid,
  type Vec3,
  count,
  dilate,
  forCapsule,
  forEllipsoid,
  intersect,
  paintCapsule,
  paintEllipsoid,
  paintTube,
  rotation,
  subtract,
  surfaceVoxels,
  uniformMargins,
  union,
} from './geometry';

export type PlanType = 'sib_2level' | 'sib_3level' | 'nodal_only' | 'single_rx';

/** which targets each plan type carries */
export const PLAN_TARGETS: Record<PlanType, { ptv56: boolean; ptv50: boolean }> = {
  sib_2level: { ptv56: true, ptv50: false },
  sib_3level: { ptv56: true, ptv50: true },
  nodal_only: { ptv56: false, ptv50: true },
  single_rx: { ptv56: false, ptv50: false },
};

/** the sampled numbers that define one case's anatomy (all mm, grid-centre coordinates) */
export interface AnatomyParams {
  planType: PlanType;
  body: {
    centreY: number;
    semiY: number;
    semiX: number;
    fatMm: number;
    posteriorFlatMm: number;
    widthSlopePerMm: number;
  };
  prostate: { centre: Vec3; semi: Vec3; tiltRad: number; lobe: number; asym: number };
  seminalVesicles: { lateralMm: number; semi: Vec3; angleRad: number; riseMm: number };
  rectum: {
    radiusAP: number;
    radiusLR: number;
    zMin: number;
    zMax: number;
    curvature: number;
    driftX: number;
    gas: Array<{ z: number; r: number; dx: number }>;
  };
  bladder: { centre: Vec3; semi: Vec3 };
  /** asymMm shifts both heads along X (patient off-centre); rotY/rotZ move them in opposite Y/Z directions (pelvic rotation/tilt); dRadius = left minus right radius */
  femur: {
    lateralMm: number;
    yMm: number;
    zMm: number;
    radius: number;
    asymMm: number;
    rotYMm: number;
    rotZMm: number;
    dRadiusMm: number;
  };
  bowel: { loops: Array<{ pts: Vec3[]; r: number; gas: boolean }> };
  nodes: { radius: number };
  hu: { fat: number; muscle: number; bladder: number; prostate: number; noiseSd: number };
  /** PTV margins (mm): uniform and posterior */
  marginMm: number;
  posteriorMarginMm: number;
}

export interface Anatomy {
  grid: Grid;
  params: AnatomyParams;
  body: Uint8Array;
  /** Hounsfield units */
  hu: Float32Array;
  /** relative electron density derived from HU (for the dose model) */
  density: Float32Array;
  /** named masks: profile structures plus helpers 'SeminalVesicles' and 'NodalCTV' */
  masks: Map<string, Uint8Array>;
}

/** draws the random parameters of one case (order of draws is part of the format: keep it stable) */
export function sampleAnatomy(rng: Rng, planType: PlanType, zCentreMm = -32): AnatomyParams {
  const u = (a: number, b: number) => rng.uniform(a, b);
  const pc: Vec3 = [u(-4, 4), u(-4, 4), zCentreMm + u(-5, 5)];
  const pSemi: Vec3 = [u(15, 21), u(20, 28), u(17, 25)];
  const fatMm = u(14, 34);
  const femur = {
    lateralMm: u(84, 97),
    yMm: pc[0] + u(-8, 4),
    zMm: pc[2] + u(2, 14),
    radius: u(22, 26.5),
    asymMm: u(-2.5, 2.5),
    rotYMm: u(-3, 3),
    rotZMm: u(-2, 2),
    dRadiusMm: u(-1.2, 1.2),
  };
  const semiX = Math.max(u(148, 176), femur.lateralMm + femur.radius + fatMm + 22);
  const semiY = u(100, 124);
  const body = {
    centreY: pc[0] - u(4, 16),
    semiY,
    semiX,
    fatMm,
    posteriorFlatMm: u(6, 14),
    widthSlopePerMm: u(0.0, 0.0012),
  };
  const sv = {
    lateralMm: u(11, 17),
    semi: [u(5, 7.5), u(11, 16), u(6, 9)] as Vec3,
    angleRad: u(0.25, 0.6),
    riseMm: u(3, 9),
  };
  const rAP = u(11, 16);
  const gasN = rng.bool(0.4) ? 0 : rng.intInclusive(1, 3);
  const gas = Array.from({ length: gasN }, () => ({ z: pc[2] + u(-25, 55), r: u(4, 9), dx: u(-5, 5) }));
  const rectum = {
    radiusAP: rAP,
    radiusLR: u(14, 19),
    zMin: pc[2] - u(38, 48),
    zMax: pc[2] + u(60, 80),
    curvature: u(0.006, 0.014),
    driftX: u(-6, 6),
    gas,
  };
  const bSemi: Vec3 = [u(22, 38), u(30, 48), u(22, 38)];
  const bladder = {
    centre: [pc[0] - u(10, 20) - bSemi[0] * 0.35, u(-6, 6), pc[2] + pSemi[2] + bSemi[2] - u(6, 12)] as Vec3,
    semi: bSemi,
  };
  const bladderTop = bladder.centre[2] + bSemi[2];
  const nLoops = rng.intInclusive(6, 11);
  const lowDip = rng.bool(0.35) ? u(0, 18) : u(18, 35);
  const loops: AnatomyParams['bowel']['loops'] = [];
  for (let k = 0; k < nLoops; k++) {
    // loops start above the bladder dome (one of them may dip down behind it, towards the
    // seminal vesicles: the PTV-to-bowel distance varies case to case)
    const dip = k === 0 ? pc[2] + pSemi[2] + lowDip : bladderTop - u(-10, 12);
    let p: Vec3 = [k === 0 ? pc[0] + u(5, 25) : pc[0] + u(-70, 25), u(-70, 70), dip];
    const pts: Vec3[] = [p];
    const n = rng.intInclusive(3, 6);
    for (let s = 0; s < n; s++) {
      const th = u(0, 2 * Math.PI);
      p = [
        Math.min(pc[0] + 35, Math.max(pc[0] - 85, p[0] + 22 * Math.cos(th))),
        Math.min(85, Math.max(-85, p[1] + 30 * Math.sin(th))),
        p[2] + u(2, 22),
      ];
      pts.push(p);
    }
    loops.push({ pts, r: u(9, 14), gas: rng.bool(0.35) });
  }
  return {
    planType,
    body,
    prostate: { centre: pc, semi: pSemi, tiltRad: u(-0.35, 0.05), lobe: u(-0.06, 0.1), asym: u(-0.05, 0.05) },
    seminalVesicles: sv,
    rectum,
    bladder,
    femur,
    bowel: { loops },
    nodes: { radius: u(9, 13) },
    hu: { fat: u(-115, -85), muscle: u(35, 55), bladder: u(2, 18), prostate: u(35, 50), noiseSd: u(8, 14) },
    marginMm: 7,
    posteriorMarginMm: 5,
  };
}

/** relative electron density from HU (bilinear calibration curve of a typical CT scanner) */
export function densityFromHu(hu: number): number {
  if (hu <= 0) return Math.max(0, 1 + hu / 1000);
  return 1 + hu / 1950;
}

/** Draws the anatomy of sampled parameters on a (Y, X, Z) grid (spacing in mm): CT in HU, relative electron density, body, organ and target masks. */
export function buildAnatomy(shape: Shape3, spacingMm: Shape3, p: AnatomyParams, noiseRng: Rng): Anatomy {
  const g = new Grid(shape, spacingMm);
  const n = g.n;
  const [, , nz] = shape;
  const pc = p.prostate.centre;

  // ---- body outline: ellipse per slice, posterior side flattened by the couch
  const body = new Uint8Array(n);
  const inner = new Uint8Array(n);
  const b = p.body;
  g.forBox([-1e4, -1e4, -1e4], [1e4, 1e4, 1e4], (i, y, x, z) => {
    const sx = b.semiX * (1 + b.widthSlopePerMm * (z - pc[2]));
    const qy = (y - b.centreY) / b.semiY;
    const qx = x / sx;
    if (qy * qy + qx * qx <= 1 && y <= b.centreY + b.semiY - b.posteriorFlatMm) {
      body[i] = 1;
      const iy = (y - b.centreY) / (b.semiY - b.fatMm);
      const ix = x / (sx - b.fatMm);
      if (iy * iy + ix * ix <= 1) inner[i] = 1;
    }
  });

  // ---- prostate: tilted ellipsoid with a lobed, slightly asymmetric outline, narrower apex
  const prostate = new Uint8Array(n);
  const pr = p.prostate;
  forEllipsoid(
    g,
    {
      centre: pc,
      semi: pr.semi,
      rot: rotation(0, pr.tiltRad, 0),
      perturb: (uy, ux, uz) => pr.lobe * (ux * ux - 0.33) + pr.asym * ux - 0.12 * Math.max(0, -uz) * (1 - uy * uy),
    },
    (i) => {
      prostate[i] = 1;
    },
  );

  // ---- seminal vesicles: two lobes running postero-superiorly and laterally from the base
  const sv = new Uint8Array(n);
  const s = p.seminalVesicles;
  for (const side of [-1, 1]) {
    paintEllipsoid(g, sv, {
      centre: [pc[0] + pr.semi[0] * 0.55 + 4, pc[1] + side * s.lateralMm, pc[2] + pr.semi[2] * 0.75 + s.riseMm],
      semi: s.semi,
      rot: rotation(side * s.angleRad, -0.35, 0),
    });
  }
  const svOnly = subtract(sv, prostate);

  // ---- rectum: elliptic tube behind the prostate, sweeping posteriorly along the sacral curve
  const rectum = new Uint8Array(n);
  const r = p.rectum;
  // the rectum abuts the back of the prostate and follows the sacral curve posteriorly above
  // it, but no closer than 25 mm to the posterior skin
  const rectBase = pc[0] + pr.semi[0] + r.radiusAP - 3;
  const rectRoom = Math.max(0, b.centreY + b.semiY - b.posteriorFlatMm - 25 - r.radiusAP - rectBase);
  const rectCentre = (z: number): [number, number] => {
    const above = Math.max(0, z - pc[2] - 15);
    return [rectBase + Math.min(rectRoom, r.curvature * above * above), r.driftX * Math.sin((z - pc[2]) / 40)];
  };
  g.forBox([-1e4, -1e4, r.zMin], [1e4, 1e4, r.zMax], (i, y, x, z) => {
    const [cy, cx] = rectCentre(z);
    const qy = (y - cy) / r.radiusAP;
    const qx = (x - cx) / r.radiusLR;
    if (qy * qy + qx * qx <= 1) rectum[i] = 1;
  });
  const rectumOnly = intersect(subtract(rectum, prostate, svOnly), inner);

  // ---- bladder: ellipsoid above and in front of the prostate, variable filling
  const bladder = new Uint8Array(n);
  paintEllipsoid(g, bladder, { centre: p.bladder.centre, semi: p.bladder.semi, rot: rotation(0, 0.15, 0) });
  const bladderOnly = intersect(subtract(bladder, prostate, svOnly, rectumOnly), inner);

  // ---- femora: head sphere + neck + proximal shaft; Femur_L on the patient's left (+X)
  const femurs = new Map<string, Uint8Array>();
  const femurHeadCentre = (side: number): Vec3 => [
    p.femur.yMm + side * p.femur.rotYMm,
    side * p.femur.lateralMm + p.femur.asymMm,
    p.femur.zMm + side * p.femur.rotZMm,
  ];
  const femurRadius = (side: number) => p.femur.radius + side * p.femur.dRadiusMm * 0.5;
  const femurParts = (side: number) => {
    const h = femurHeadCentre(side);
    const neckEnd: Vec3 = [h[0] + 4, h[1] + side * 38, h[2] - 30];
    const shaftEnd: Vec3 = [h[0] + 6, h[1] + side * 44, h[2] - 160];
    return { h, neckEnd, shaftEnd };
  };
  for (const [name, side] of [
    ['Femur_L', 1],
    ['Femur_R', -1],
  ] as const) {
    const m = new Uint8Array(n);
    const f = femurParts(side);
    const rf = femurRadius(side);
    paintEllipsoid(g, m, { centre: f.h, semi: [rf, rf, rf] });
    paintCapsule(g, m, f.h, f.neckEnd, 14);
    paintCapsule(g, m, f.neckEnd, f.shaftEnd, 14);
    femurs.set(name, intersect(m, body));
  }

  // ---- PTV70 (needed before the bowel: loops are displaced out of it)
  const m = uniformMargins(p.marginMm, p.posteriorMarginMm);
  const t = PLAN_TARGETS[p.planType];
  const prostateTop = topZ(g, prostate);
  const proximalSv = new Uint8Array(n);
  g.forBox([-1e4, -1e4, -1e4], [1e4, 1e4, prostateTop + 10], (i) => {
    proximalSv[i] = svOnly[i];
  });
  const ctv70 = t.ptv56 ? prostate : union(prostate, proximalSv);
  const ptv70 = intersect(dilate(g, ctv70, m), body);

  // ---- bowel loops above the bladder; none inside PTV70 (a loop that close would be pushed
  // away or the plan replanned, so such anatomy does not reach a dose-prediction dataset)
  const bowelRaw = new Uint8Array(n);
  for (const loop of p.bowel.loops) paintTube(g, bowelRaw, loop.pts, loop.r);
  const bowel = intersect(
    subtract(
      bowelRaw,
      prostate,
      svOnly,
      rectumOnly,
      bladderOnly,
      femurs.get('Femur_L')!,
      femurs.get('Femur_R')!,
      ptv70,
    ),
    inner,
  );

  // ---- pelvic bones (CT only): acetabula, pubis, ischia, ilia, sacrum
  const boneMask = new Uint8Array(n);
  for (const side of [-1, 1]) {
    const h = femurHeadCentre(side);
    const rf = femurRadius(side);
    forEllipsoid(g, { centre: h, semi: [rf + 9, rf + 9, rf + 9] }, (i, rn) => {
      // acetabulum: the medial/superior half of a shell around the femoral head
      const x = g.pos(1, Math.floor(i / nz) % g.shape[1]);
      if (rn * (rf + 9) >= rf + 2 && side * (x - h[1]) < rf * 0.3) boneMask[i] = 1;
    });
    const sym: Vec3 = [pc[0] - 40, side * 9, pc[2] + 5];
    paintCapsule(g, boneMask, sym, [h[0] - 12, h[1] - side * rf * 0.6, h[2] - 2], 9); // superior pubic ramus
    paintCapsule(g, boneMask, [pc[0] - 40, side * 9, pc[2] - 18], [pc[0] + 12, side * 48, pc[2] - 32], 9); // inferior ramus
    paintCapsule(g, boneMask, [pc[0] + 12, side * 48, pc[2] - 32], [h[0] + 14, h[1] - side * 8, h[2] - 8], 12); // ischium
    paintCapsule(
      g,
      boneMask,
      [h[0] + 4, h[1] - side * 6, h[2] + 18],
      [pc[0] + 35, side * (b.semiX - b.fatMm - 25), pc[2] + 150],
      11,
    ); // ilium
    paintCapsule(
      g,
      boneMask,
      [h[0] - 8, h[1] + side * 2, h[2] + 20],
      [pc[0] - 10, side * (b.semiX - b.fatMm - 20), pc[2] + 140],
      9,
    );
  }
  paintCapsule(g, boneMask, [pc[0] - 40, 0, pc[2] - 18], [pc[0] - 40, 0, pc[2] + 14], 10); // symphysis
  const sacrumY = Math.min(pc[0] + 82, b.centreY + b.semiY - b.posteriorFlatMm - 28);
  paintEllipsoid(g, boneMask, { centre: [sacrumY, 0, pc[2] + 95], semi: [16, 48, 55], rot: rotation(0, 0.35, 0) });
  paintCapsule(g, boneMask, [sacrumY - 14, 0, pc[2] + 22], [sacrumY - 4, 0, pc[2] + 50], 7); // coccyx
  const pelvis = subtract(
    intersect(boneMask, inner),
    femurs.get('Femur_L')!,
    femurs.get('Femur_R')!,
    prostate,
    svOnly,
    rectumOnly,
    bladderOnly,
    bowel,
  );

  // ---- targets
  const masks = new Map<string, Uint8Array>();
  masks.set('PTV70', ptv70);
  let ptv56: Uint8Array | null = null;
  if (t.ptv56) {
    ptv56 = intersect(subtract(dilate(g, union(prostate, svOnly), m), ptv70), body);
    masks.set('PTV56', ptv56);
  }
  let nodal: Uint8Array | null = null;
  if (t.ptv50) {
    nodal = new Uint8Array(n);
    const rn = p.nodes.radius;
    for (const side of [-1, 1]) {
      const bif: Vec3 = [pc[0] + 35, side * 22, pc[2] + 120];
      const split: Vec3 = [pc[0] + 18, side * 52, pc[2] + 60];
      paintTube(g, nodal, [bif, split, [pc[0] - 5, side * 62, pc[2] + 25], [pc[0] - 18, side * 58, pc[2] + 2]], rn); // external iliac -> obturator
      paintTube(g, nodal, [split, [pc[0] + 38, side * 45, pc[2] + 30], [pc[0] + 40, side * 35, pc[2] + 12]], rn); // internal iliac
    }
    paintTube(
      g,
      nodal,
      [
        [pc[0] + 62, 0, pc[2] + 30],
        [sacrumY - 18, 0, pc[2] + 90],
      ],
      rn,
    ); // presacral
    nodal = subtract(nodal, bladderOnly, rectumOnly, bowel, pelvis, femurs.get('Femur_L')!, femurs.get('Femur_R')!);
    const ptv50 = intersect(subtract(dilate(g, nodal, m), ptv70, ptv56 ?? new Uint8Array(n)), inner);
    masks.set('PTV50.4', ptv50);
  }
  masks.set('Prostate', prostate);
  masks.set('Rectum', rectumOnly);
  masks.set('Bladder', bladderOnly);
  masks.set('Femur_L', femurs.get('Femur_L')!);
  masks.set('Femur_R', femurs.get('Femur_R')!);
  masks.set('Bowel', bowel);
  masks.set('SeminalVesicles', svOnly);
  if (nodal) masks.set('NodalCTV', nodal);

  // ---- CT in HU, painted from the outside in
  const hu = new Float32Array(n).fill(-1000);
  const H = p.hu;
  for (let i = 0; i < n; i++) {
    if (!body[i]) continue;
    hu[i] = inner[i] ? H.muscle : H.fat;
  }
  // fat around the rectum and in front of the bladder (mesorectum, space of Retzius)
  forEllipsoid(g, { centre: [pc[0] + 22, 0, pc[2] + 5], semi: [30, 38, 55] }, (i) => {
    if (inner[i]) hu[i] = H.fat + 15;
  });
  forEllipsoid(g, { centre: [pc[0] - 35, 0, pc[2] + 30], semi: [18, 45, 40] }, (i) => {
    if (inner[i]) hu[i] = H.fat + 10;
  });
  for (let i = 0; i < n; i++) {
    if (bladderOnly[i]) hu[i] = H.bladder;
    else if (prostate[i]) hu[i] = H.prostate;
    else if (svOnly[i]) hu[i] = H.prostate - 8;
    else if (rectumOnly[i]) hu[i] = 30;
    else if (bowel[i]) hu[i] = 28;
  }
  // rectal and bowel gas
  for (const gp of r.gas) {
    const [cy, cx] = rectCentre(gp.z);
    forEllipsoid(g, { centre: [cy, cx + gp.dx, gp.z], semi: [gp.r * 0.8, gp.r, gp.r * 1.6] }, (i) => {
      if (rectumOnly[i]) hu[i] = -950;
    });
  }
  for (const loop of p.bowel.loops) {
    if (!loop.gas) continue;
    for (let k = 0; k + 1 < loop.pts.length; k += 2) {
      forCapsule(g, loop.pts[k], loop.pts[k + 1], loop.r * 0.45, (i) => {
        if (bowel[i]) hu[i] = -900;
      });
    }
  }
  // bone: cortical shell (surface voxels) around trabecular bone
  for (const mask of [femurs.get('Femur_L')!, femurs.get('Femur_R')!, pelvis]) {
    for (let i = 0; i < n; i++) if (mask[i]) hu[i] = 300;
    for (const i of surfaceVoxels(g, mask)) hu[i] = mask === pelvis ? 850 : 1100;
  }
  // acquisition noise (white, scanner-like sd inside the patient, small in air)
  for (let i = 0; i < n; i++) {
    const sd = body[i] ? H.noiseSd : 4;
    hu[i] = Math.max(-1024, hu[i] + sd * noiseRng.normal());
  }
  const density = new Float32Array(n);
  for (let i = 0; i < n; i++) density[i] = body[i] ? densityFromHu(hu[i]) : 0;
  return { grid: g, params: p, body, hu, density, masks };
}

/** highest z (mm) of any voxel in the mask */
function topZ(g: Grid, mask: Uint8Array): number {
  const nz = g.shape[2];
  let top = -Infinity;
  for (let i = 0; i < mask.length; i++) if (mask[i]) top = Math.max(top, g.pos(2, i % nz));
  return top;
}

/** Volume (cc) of every mask of an anatomy. */
export function maskVolumesCc(a: Anatomy): Record<string, number> {
  const vcc = (a.grid.spacing[0] * a.grid.spacing[1] * a.grid.spacing[2]) / 1000;
  const out: Record<string, number> = {};
  for (const [k, m] of a.masks) out[k] = count(m) * vcc;
  return out;
}
