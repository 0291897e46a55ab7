/**
 * Architecture configuration of the dose-prediction U-Nets (spec 3.1, 3.3).
 *
 * The reference is fixed at 5 resolution levels; `levels` generalises it so CPU runs can use a
 * shallower net: levels L gives encoders enc1..enc{L-1} (widths b, 2b, 4b, ...), a bottleneck at
 * the deepest encoder width, and decoders dec{L-1}..dec1. levels = 5 is exactly the reference.
 */
import { VmatError } from '../core/errors';

export type Architecture = 'baseline' | 'attention_unet' | 'bottleneck_attn';

/** The architectures of the reference (baseline U-Net and its two ablations). */
export const ARCHITECTURES: readonly Architecture[] = ['baseline', 'attention_unet', 'bottleneck_attn'];

/** class names of the reference (recorded in training_config.json as `model`) */
export const ARCHITECTURE_CLASS: Record<Architecture, string> = {
  baseline: 'BaselineUNet3D',
  attention_unet: 'AttentionUNet3D',
  bottleneck_attn: 'BottleneckAttnUNet3D',
};

export interface ModelConfig {
  architecture: Architecture;
  /** 1 (CT) + number of structure channels: 9 for v2.3, 10 for v2.4 */
  inChannels: number;
  outChannels: number;
  /** b: widths are b, 2b, 4b, 8b (reference default 48) */
  baseChannels: number;
  /** number of resolution levels including the bottleneck (reference: 5) */
  levels: number;
  /** length of the constraint vector (13) */
  constraintDim: number;
  /** FiLM embedding width (fixed at 256 in the reference) */
  condDim: number;
  /** heads of the bottleneck self-attention (C13) */
  attentionHeads: number;
}

/** A complete, checked model configuration: reference defaults overridden by `partial` (VmatError when impossible). */
export function modelConfig(partial: Partial<ModelConfig> = {}): ModelConfig {
  const c: ModelConfig = {
    architecture: 'baseline',
    inChannels: 9,
    outChannels: 1,
    baseChannels: 48,
    levels: 5,
    constraintDim: 13,
    condDim: 256,
    attentionHeads: 4,
    ...partial,
  };
  if (!ARCHITECTURES.includes(c.architecture)) throw new VmatError(`model configuration: architecture must be one of ${ARCHITECTURES.join('|')}, found '${c.architecture}'`);
  if (!(c.levels >= 2 && Number.isInteger(c.levels))) throw new VmatError(`model configuration: levels must be an integer >= 2, found ${c.levels}`);
  if (!(c.baseChannels >= 1 && Number.isInteger(c.baseChannels))) throw new VmatError(`model configuration: baseChannels must be a positive integer, found ${c.baseChannels}`);
  if (!(c.inChannels >= 1 && Number.isInteger(c.inChannels))) throw new VmatError(`model configuration: inChannels must be a positive integer, found ${c.inChannels}`);
  if (c.architecture === 'bottleneck_attn' && deepestWidth(c) % c.attentionHeads !== 0) {
    throw new VmatError(
      `model configuration: the bottleneck width ${deepestWidth(c)} (baseChannels ${c.baseChannels} × 2^${c.levels - 2}) must be divisible by the ${c.attentionHeads} attention heads of bottleneck_attn`,
    );
  }
  return c;
}

/** width of encoder i (1-based): b * 2^(i-1) */
export function encoderWidth(c: ModelConfig, i: number): number {
  return c.baseChannels * 2 ** (i - 1);
}

/** bottleneck width = width of the deepest encoder (8b at 5 levels; 16b is never instantiated) */
export function deepestWidth(c: ModelConfig): number {
  return encoderWidth(c, c.levels - 1);
}

/** spatial sizes fed to the net must be divisible by this (one halving per pooling) */
export function spatialMultiple(c: Pick<ModelConfig, 'levels'>): number {
  return 2 ** (c.levels - 1);
}

/** GroupNorm groups: the largest divisor of `channels` that is <= 8 (spec 3.1) */
export function groupsFor(channels: number): number {
  for (let g = Math.min(8, channels); g > 1; g--) if (channels % g === 0) return g;
  return 1;
}
