/**
 * The named parameters of each architecture: names follow the reference PyTorch state dict
 * (without the Lightning `model.` prefix), shapes are in tfjs layout:
 *   Conv3d weight  [kY, kX, kZ, Cin, Cout]   (torch: [Cout, Cin, kY, kX, kZ])
 *   Linear weight  [in, out]                 (torch: [out, in])
 * so a converter only has to transpose. Counting parameters needs no tensors at all.
 */
import { type ModelConfig, encoderWidth, deepestWidth } from './config';

export type InitKind =
  /** PyTorch default for Conv/Linear weights and biases: U(-1/sqrt(fanIn), 1/sqrt(fanIn)) */
  | { kind: 'uniformFanIn'; fanIn: number }
  | { kind: 'ones' }
  | { kind: 'zeros' };

export interface ParamSpec {
  name: string;
  shape: number[];
  init: InitKind;
}

function conv(specs: ParamSpec[], name: string, cin: number, cout: number, k: number, bias = true): void {
  const fanIn = cin * k * k * k;
  specs.push({ name: `${name}.weight`, shape: [k, k, k, cin, cout], init: { kind: 'uniformFanIn', fanIn } });
  if (bias) specs.push({ name: `${name}.bias`, shape: [cout], init: { kind: 'uniformFanIn', fanIn } });
}

function linear(specs: ParamSpec[], name: string, fin: number, fout: number, bias = true): void {
  specs.push({ name: `${name}.weight`, shape: [fin, fout], init: { kind: 'uniformFanIn', fanIn: fin } });
  if (bias) specs.push({ name: `${name}.bias`, shape: [fout], init: { kind: 'uniformFanIn', fanIn: fin } });
}

function norm(specs: ParamSpec[], name: string, ch: number): void {
  specs.push({ name: `${name}.weight`, shape: [ch], init: { kind: 'ones' } });
  specs.push({ name: `${name}.bias`, shape: [ch], init: { kind: 'zeros' } });
}

/** ConvBlock3D(in, out, cond_dim): conv1, norm1, FiLM cond_mlp (SiLU, Linear), conv2, norm2, residual */
function convBlock(specs: ParamSpec[], name: string, cin: number, cout: number, condDim: number): void {
  conv(specs, `${name}.conv1`, cin, cout, 3);
  norm(specs, `${name}.norm1`, cout);
  conv(specs, `${name}.conv2`, cout, cout, 3);
  norm(specs, `${name}.norm2`, cout);
  linear(specs, `${name}.cond_mlp.1`, condDim, 2 * cout);
  if (cin !== cout) conv(specs, `${name}.residual`, cin, cout, 1);
}

/** decoder i (1-based, i = levels-1 .. 1): input 2 * w_i (concat of up and skip), output w_{i-1} (w_0 = b) */
export function decoderWidths(c: ModelConfig, i: number): { cin: number; cout: number } {
  return { cin: 2 * encoderWidth(c, i), cout: i === 1 ? c.baseChannels : encoderWidth(c, i - 1) };
}

/** Every parameter of an architecture with its reference state-dict name, tfjs shape and PyTorch-default initialisation. */
export function parameterSpecs(c: ModelConfig): ParamSpec[] {
  const specs: ParamSpec[] = [];
  linear(specs, 'constraint_mlp.0', c.constraintDim, c.condDim);
  linear(specs, 'constraint_mlp.2', c.condDim, c.condDim);
  const depth = c.levels - 1;
  for (let i = 1; i <= depth; i++) {
    const cin = i === 1 ? c.inChannels : encoderWidth(c, i - 1);
    convBlock(specs, `enc${i}`, cin, encoderWidth(c, i), c.condDim);
  }
  const wb = deepestWidth(c);
  convBlock(specs, 'bottleneck', wb, wb, c.condDim);
  if (c.architecture === 'bottleneck_attn') {
    norm(specs, 'bottleneck_attn.norm', wb);
    linear(specs, 'bottleneck_attn.qkv', wb, 3 * wb, false);
    linear(specs, 'bottleneck_attn.proj', wb, wb);
  }
  for (let i = depth; i >= 1; i--) {
    if (c.architecture === 'attention_unet') {
      const w = encoderWidth(c, i);
      const inter = Math.floor(w / 2);
      conv(specs, `attn${i}.W_skip`, w, inter, 1, false);
      conv(specs, `attn${i}.W_gate`, w, inter, 1, false);
      conv(specs, `attn${i}.psi.0`, inter, 1, 1);
    }
    const { cin, cout } = decoderWidths(c, i);
    convBlock(specs, `dec${i}`, cin, cout, c.condDim);
  }
  conv(specs, 'out_conv', c.baseChannels, c.outChannels, 1);
  return specs;
}

/** Number of elements of a tensor of this shape. */
export function numElements(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** total trainable parameters of the architecture (no tensors are allocated) */
export function countParameters(c: ModelConfig): number {
  return parameterSpecs(c).reduce((s, p) => s + numElements(p.shape), 0);
}
