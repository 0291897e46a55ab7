/**
 * Forward pass of BaselineUNet3D and its ablation variants (spec 3.1, 3.3) as a pure function of
 * (parameters, input, constraints). Input x is [B, Y, X, Z, inChannels] (channels last: CT then
 * one SDF per structure), constraints [B, 13]; output [B, Y, X, Z, 1], no output activation.
 */
import { tf, maxPool3d2x, upsampleTrilinear2x } from '../engine';
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
  for (let i = 1; i <= depth; i++) {
    h = convBlock(p, `enc${i}`, i === 1 ? h : maxPool3d2x(h), cond);
    skips.push(h);
  }
  h = convBlock(p, 'bottleneck', maxPool3d2x(h), cond);
  if (config.architecture === 'bottleneck_attn') h = bottleneckSelfAttention(p, 'bottleneck_attn', h, config.attentionHeads);
  for (let i = depth; i >= 1; i--) {
    const up = upsampleTrilinear2x(h);
    let skip = skips[i - 1];
    if (config.architecture === 'attention_unet') skip = attentionGate(p, `attn${i}`, skip, up);
    h = convBlock(p, `dec${i}`, tf.concat([up, skip], 4) as tf.Tensor5D, cond);
  }
  return conv(p, 'out_conv', h);
}
