// Backpropagation that frees memory as it walks the tape. tfjs 4.22's engine.gradients keeps, until the whole
// backward pass ends, every tensor saved for a gradient and the gradient of every intermediate tensor, and
// when a tensor feeds several ops it keeps each partial gradient as well as their sum. For a language model
// that is a second (and third) copy of all activations at the peak: one LoRA PPO step on the Qwen2.5-0.5B
// shape peaked at 18.5 GB. Here, once a tape node's input gradients are computed, the node's saved tensors
// and its outputs' gradients are released (no earlier node reads them: each tensor is produced by exactly one
// node, and all its consumers come later on the tape), and partial gradients are freed once summed. The
// arithmetic is the same kernels in the same order as tfjs's, so gradients are bit-identical (tested).
// Higher-order gradients (a gradient taken inside another's function) keep tfjs's own path.
// Like engine-state.ts this reads the engine's private state (tfjs 4.22) and so lives in backend/.
import * as tf from '@tensorflow/tfjs';

interface TapeNode {
  id: number;
  kernelName: string;
  inputs: Record<string, tf.Tensor>;
  outputs: tf.Tensor[];
  saved?: tf.Tensor[];
  gradient?: (dys: (tf.Tensor | null)[]) => Record<string, () => tf.Tensor>;
}

interface EngineInternals {
  state: { gradientDepth: number; activeTape: TapeNode[] | null };
  tidy<T>(name: string | (() => T), f?: () => T): T;
  scopedRun<T>(start: () => void, end: () => void, f: () => T): T;
  startTape(): void;
  endTape(): void;
  gradients(f: () => tf.Tensor, xs: tf.Tensor[], dy?: tf.Tensor, allowNoGradients?: boolean): { value: tf.Tensor; grads: tf.Tensor[] };
  rlhfTfjsGradients?: EngineInternals['gradients'];
}

/**
 * The nodes on a path from some x to y, in tape order, each with only the inputs that come from an x and the
 * outputs that lead to y (the same subgraph tfjs's backprop walks).
 */
export function nodesBetween(tape: TapeNode[], xs: tf.Tensor[], y: tf.Tensor): TapeNode[] {
  const fromX = new Set(xs.map((x) => x.id));
  const reachable = new Set<number>();
  for (const node of tape) {
    if (Object.values(node.inputs).some((t) => fromX.has(t.id))) {
      reachable.add(node.id);
      for (const o of node.outputs) fromX.add(o.id);
    }
  }
  const toY = new Set([y.id]);
  const kept: TapeNode[] = [];
  for (let i = tape.length - 1; i >= 0; i--) {
    const node = tape[i];
    if (!reachable.has(node.id) || !node.outputs.some((o) => toY.has(o.id))) continue;
    const inputs: Record<string, tf.Tensor> = {};
    for (const [name, t] of Object.entries(node.inputs)) {
      if (fromX.has(t.id)) {
        inputs[name] = t;
        toY.add(t.id);
      }
    }
    kept.push({ ...node, inputs, outputs: node.outputs });
  }
  return kept.reverse();
}

/** Replace the engine's gradients() with the streaming one (idempotent). */
export function installStreamingBackprop(): void {
  const engine = tf.engine() as unknown as EngineInternals;
  if (engine.rlhfTfjsGradients) return;
  const tfjs = engine.gradients.bind(engine);
  engine.rlhfTfjsGradients = tfjs;
  engine.gradients = function (f, xs, dy, allowNoGradients = false) {
    if (this.state.gradientDepth > 0) return tfjs(f, xs, dy, allowNoGradients); // higher order: tfjs's path
    if (xs.length === 0) throw new Error('gradients() received an empty list of xs.');
    if (dy != null && dy.dtype !== 'float32') throw new Error(`dy must have 'float32' dtype, but has '${dy.dtype}'`);
    const y = this.scopedRun(() => this.startTape(), () => this.endTape(), () => this.tidy('forward', f));
    if (!(y instanceof tf.Tensor)) throw new Error('The result y returned by f() must be a tensor.');
    const tape = this.state.activeTape!;
    const nodes = nodesBetween(tape, xs, y);
    if (!allowNoGradients && nodes.length === 0) {
      throw new Error('Cannot compute gradient of y=f(x) with respect to x. Make sure that the f you passed encloses all operations that lead from x to y.');
    }
    const keepIds = new Set(xs.map((x) => x.id));
    return this.tidy('backward', () => {
      // grad: each tensor's accumulated gradient. A gradient function may hand back a tensor it was given
      // (dy itself), so one tensor can be the gradient of several: `refs` counts the map's references and a
      // tensor is freed only when none is left (and never the caller's dy).
      const grad = new Map<number, tf.Tensor>();
      const refs = new Map<tf.Tensor, number>();
      const hold = (id: number, t: tf.Tensor) => {
        grad.set(id, t);
        refs.set(t, (refs.get(t) ?? 0) + 1);
      };
      const free = (t: tf.Tensor) => {
        if (t !== dy && !refs.has(t)) t.dispose();
      };
      const drop = (id: number) => {
        const t = grad.get(id)!;
        grad.delete(id);
        const n = refs.get(t)! - 1;
        if (n) refs.set(t, n);
        else refs.delete(t);
        free(t);
      };
      hold(y.id, dy ?? tf.ones(y.shape));
      for (let i = nodes.length - 1; i >= 0; i--) {
        const node = nodes[i];
        if (!node.gradient) throw new Error(`Cannot compute gradient: gradient function not found for ${node.kernelName}.`);
        const dys = node.outputs.map((o) => grad.get(o.id) ?? null);
        const inputGrads = node.gradient(dys);
        for (const [name, x] of Object.entries(node.inputs)) {
          if (!(name in inputGrads)) throw new Error(`Cannot backprop through input ${name}. Available gradients found: ${Object.keys(inputGrads)}.`);
          const dx = this.tidy(() => inputGrads[name]());
          if (dx.dtype !== 'float32') throw new Error(`Error in gradient for op ${node.kernelName}. The gradient of input ${name} must have 'float32' dtype, but has '${dx.dtype}'`);
          if (!tf.util.arraysEqual(dx.shape, x.shape)) {
            throw new Error(`Error in gradient for op ${node.kernelName}. The gradient of input '${name}' has shape '${dx.shape}', which does not match the shape of the input '${x.shape}'`);
          }
          if (grad.has(x.id)) {
            const sum = tf.add(grad.get(x.id)!, dx);
            drop(x.id);
            free(dx);
            hold(x.id, sum);
          } else hold(x.id, dx);
        }
        // Nothing earlier on the tape reads this node's saved tensors or its outputs' gradients.
        for (const o of node.outputs) if (grad.has(o.id) && !keepIds.has(o.id)) drop(o.id);
        for (const t of node.saved ?? []) t.dispose();
      }
      const grads = xs.map((x) => grad.get(x.id)!);
      for (const node of tape) for (const t of node.saved ?? []) t.dispose();
      this.state.activeTape = null;
      return { value: y, grads };
    });
  };
}
