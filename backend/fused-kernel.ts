// What a fused kernel of the native backend is, shared by native-fused.ts and native-fused-llama.ts: a
// function of tfjs tensor infos and attributes that runs the addon over the backend's own buffers.
import * as tf from '@tensorflow/tfjs';
import type { NativeAddon } from './native-addon.js';

export type Info = tf.TensorInfo;
export interface Be {
  data: { get(d: object): { values: unknown } };
  makeTensorInfo(shape: number[], dtype: tf.DataType, values: Float32Array): Info;
  alloc(n: number): Float32Array;
}
export type Fn = (inputs: Record<string, Info>, attrs: Record<string, unknown>, addon: NativeAddon, be: Be) => Info | Info[];

/** The float32 storage of a tensor of this backend. */
export const f32 = (be: Be, t: Info) => be.data.get(t.dataId).values as Float32Array;
/** A float32 tensor info over values the kernel allocated. */
export const out = (be: Be, shape: number[], v: Float32Array) => be.makeTensorInfo(shape, 'float32', v);
