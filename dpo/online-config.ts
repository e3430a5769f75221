// Online iterative DPO's part of a DPO config (`onlineFeedback`; null turns it off), the loop of
// dpo/online.ts: the current policy's samples go to the labeling queue, and each time `roundEveryLabels`
// new preference labels have arrived on the run's tasks a DPO round trains on them, warm-started from the
// current policy; the next samples come from the new policy. Where tasks go and how they are sampled are
// the fields every online loop shares (rl/online/config.ts TASK_FIELDS). A schema: the type, defaults,
// check, the --online-* flags and the launch form come from it. No tfjs here: the server reads it.
import { Type } from '@sinclair/typebox';
import { TASK_FIELDS } from '../rl/online/config.js';
import { Default, Resolved, StringEnum } from '../train/config-schema.js';

export const ROUND_REFERENCES = ['initial', 'previous'] as const;

export const DpoOnlineFeedbackSchema = Type.Object({
  ...TASK_FIELDS,
  promptFile: Type.String({ minLength: 1, description: "the prompts the policy's samples answer: .txt, one per line, or .jsonl of {\"prompt\"} or conversations (as rlhf ppo --prompts)" }),
  roundEveryLabels: Default(Type.Integer({ minimum: 1, description: "start a DPO round once this many new preference labels arrived on the run's tasks; the round trains on every new one" }), 64),
  rounds: Default(Type.Integer({ minimum: 1, description: 'online rounds; the run ends after the last (a resumed run may raise it)' }), 3),
  reference: Default(StringEnum(ROUND_REFERENCES, {
    description: "each round's reference policy: initial keeps the starting model (TRL's online DPO), previous moves it to the policy the round starts from (the previous round's)",
  }), 'initial'),
  offlineRound: Default(Type.Boolean({ description: "first train round 0 on the config's db or data, as offline DPO, before any task goes out (skipped when the store holds no preference labels yet)" }), true),
}, { additionalProperties: false, title: 'DpoOnlineFeedbackConfig', description: 'online iterative DPO; null turns it off' });

export type DpoOnlineFeedbackConfig = Resolved<typeof DpoOnlineFeedbackSchema>;
