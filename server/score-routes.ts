// POST /api/score: reward-model scores for completions of a prompt, computed by the scoring worker
// (score-proxy.ts) so that inference never blocks the event loop. Available when the server was started
// with a reward model (rlhf serve --reward-model DIR); otherwise 503 says how to enable it.
import { precompiled, Route } from './route-types.js';
import { arr, obj, str } from './schema.js';
import { ScoreUnavailable } from './score-proxy.js';

export const SCORE_ROUTES: Route[] = precompiled([
  {
    method: 'post', path: '/api/score', role: 'researcher',
    summary: 'normalised reward-model scores of completions after a prompt (503 when the server has no reward model)',
    body: obj({ prompt: str({ maxLength: 20000 }), completions: arr(str({ maxLength: 20000 }), { minItems: 1, maxItems: 64 }) }, ['prompt', 'completions']),
    ok: [200, '{model, scores, raw}: scores normalised (mean 0, std 1 on policy samples), raw as the head gives them'],
    handler: async (req, res, _u, { scorer }) => {
      if (!scorer) return res.status(503).json({ error: 'no reward model loaded: start the server with rlhf serve --reward-model DIR' });
      const { prompt, completions } = req.body as { prompt: string; completions: string[] };
      try {
        const r = await scorer.score(completions.map(() => prompt), completions);
        res.json({ model: scorer.model, ...r });
      } catch (e) {
        if (e instanceof ScoreUnavailable) return res.status(503).json({ error: e.message });
        throw e;
      }
    },
  },
]);
