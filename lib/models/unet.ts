/**
 * Forward pass of BaselineUNet3D and its ablation variants (spec 3.1, 3.3) as a pure function of
 * (parameters, input, constraints). Input x is [B, Y, X, Z, inChannels] (channels last: CT then
 * one SDF per structure), constraints [B, 13]; output [B, Y, X, Z, 1], no output activation.
 */
import { tf, maxPool3d2x, upsampleTrilinear2x, concatChannels } from '../engine';
import { VmatError } from '../core/errors';
import { type ModelConfig, spatialMultiple } from './config';
import { type Params, conv, convBlock, constraintEmbedding, attentionGate, bottleneckSelfAttention } from './layers';

/**
 * Forward pass: x [B, Y, X, Z, inChannels] channels last (each spatial size divisible by
 * 2^(levels−1)), constraints [B, 13] → dose [B, Y, X, Z, 1], normalised by Rx, no output activation.
 */
export function applyUNet(config: ModelConfig, p: Params, x: tf.Tensor5D, constraints: tf.Tensor2D): tf.Tensor5D {
  const m = spatialMultiple(config);
  const [, y, xx, z, c] = x.shape;
  if (y % m || xx % m || z % m)
    throw new VmatError(
      `U-Net input ${y}x${xx}x${z}: every spatial size must be divisible by ${m} for a ${config.levels}-level model (check --patch-size)`,
    );
  if (c !== config.inChannels)
    throw new Error(`applyUNet: input has ${c} channels, the model takes ${config.inChannels} (bundles and tasks check the recipe's channels first)`);
  const cond = constraintEmbedding(p, constraints);
  const depth = config.levels - 1;
  const skips: tf.Tensor5D[] = [];
  let h = x;
  // intermediates are disposed after their last use (see convBlock)
  for (let i = 1; i <= depth; i++) {
    const pooled = i === 1 ? h : maxPool3d2x(h);
    h = convBlock(p, `enc${i}`, pooled, cond);
    if (pooled !== x) pooled.dispose();
    skips.push(h);
  }
  const pooled = maxPool3d2x(h);
  h = convBlock(p, 'bottleneck', pooled, cond);
  pooled.dispose();
  if (config.architecture === 'bottleneck_attn') {
    const a = bottleneckSelfAttention(p, 'bottleneck_attn', h, config.attentionHeads);
    h.dispose();
    h = a;
  }
  for (let i = depth; i >= 1; i--) {
    const up = upsampleTrilinear2x(h);
    h.dispose();
    let skip = skips[i - 1];
    if (config.architecture === 'attention_unet') {
      const gated = attentionGate(p, `attn${i}`, skip, up);
      skip.dispose();
      skip = gated;
    }
    const cat = concatChannels([up, skip]);
    up.dispose();
    skip.dispose();
    h = convBlock(p, `dec${i}`, cat, cond);
    cat.dispose();
  }
  const out = conv(p, 'out_conv', h);
  h.dispose();
  return out;
}
