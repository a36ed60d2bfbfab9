"""The trainer's reward schemes, turn caps, turn-level options, temperature and GAE bootstrap."""

from __future__ import annotations

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from agent_envs.train import TrainConfig, Trainer  # noqa: E402
from agent_envs.train.algorithms import turn_advantages  # noqa: E402
from agent_envs.train.loss import token_logprobs  # noqa: E402
from agent_envs.train.policy import load_policy  # noqa: E402
from agent_envs.wrappers import BestTurnReward, RewardSparsity  # noqa: E402

pytestmark = pytest.mark.train

TASK = dict(
    model="tiny", env_kwargs={"high": 9, "max_turns": 6}, system_prompt="Guess 1-9.",
    group_size=4, groups_per_step=1, max_new_tokens=3, max_turns=3, lr=1e-3,
    micro_batch_size=8, cpu_threads=1, quiet=True, eval_episodes=0,
)  # fmt: skip


def _rollout(**kw):
    trainer = Trainer(TrainConfig(**{**TASK, **kw}))
    try:
        return trainer, trainer.rollout(0)
    finally:
        trainer.close()


@pytest.mark.parametrize("algo", ["grpo", "tl-grpo"])
def test_best_turn_return_is_what_the_algorithm_sees(algo):
    trainer, (samples, episodes) = _rollout(algo=algo, reward="best-turn")
    env = trainer.envs[0]
    assert isinstance(env, BestTurnReward)
    for e in episodes:
        scores = [i["score"] for i in e.infos if i.get("action_valid")]
        # by the definition of the scheme: the return is the best valid score (0 if none)
        assert math.isclose(e.total_reward, max(scores, default=0.0), abs_tol=1e-9)
    if algo == "grpo":  # the advantages are GRPO's of exactly those returns
        adv, _ = turn_advantages("grpo", [s.turn_rewards for s in samples], [0] * len(samples))
        returns = np.array([max([i["score"] for i in s.infos if i.get("action_valid")] or [0.0])
                            for s in samples])  # fmt: skip
        if returns.std() > 0:
            np.testing.assert_allclose([a[0] for a in adv],
                                       (returns - returns.mean()) / (returns.std() + 1e-6))  # fmt: skip
    else:  # each candidate is paid its improvement over the trunk's best so far
        for c in samples:
            info = c.infos[0]
            assert c.turn_rewards[0] >= 0.0 or not info.get("action_valid")


def test_native_scheme_sums_scores_and_turn_cap_pays_sparse_rewards():
    _, (_, native) = _rollout(algo="grpo")
    for e in native:  # GuessNumber's documented native reward: the score, -0.1 if invalid
        expected = [i["score"] if i["action_valid"] else -0.1 for i in e.infos]
        assert e.turn_rewards == pytest.approx(expected)
    trainer, (_, sparse) = _rollout(algo="rloo", reward="sparse")
    assert isinstance(trainer.envs[0], RewardSparsity)
    for e in sparse:
        dense = [i["reward_before_sparsity"] for i in e.infos]
        assert e.turn_rewards[:-1] == [0.0] * (len(dense) - 1)
        assert math.isclose(e.turn_rewards[-1], sum(dense))  # paid although the env had 6 turns
        assert e.done and (e.terminated or len(dense) == 3)


def test_turn_group_options():
    _, (cands, episodes) = _rollout(algo="tl-grpo", group_turns="first:1", choose="random")
    assert {c.group[1] for c in cands} == {0} and len(cands) == 4
    assert len(episodes[0].turn_rewards) >= 1
    with pytest.raises(ValueError):
        TrainConfig(**{**TASK, "group_turns": "every:0"}).validate()
    with pytest.raises(ValueError):
        TrainConfig(**{**TASK, "reward": "sum"}).validate()


def test_gigpo_and_ppo_steps_run_and_ppo_bootstraps_cut_episodes():
    trainer = Trainer(TrainConfig(**{**TASK, "algo": "gigpo"}))
    assert trainer.step()["agent_tokens"] > 0
    trainer.close()
    trainer, (samples, _) = _rollout(algo="ppo", env_kwargs={"high": 9, "max_turns": 9})
    cut = [s for s in samples if not s.terminated]
    assert cut and all(s.bootstrap_pos is not None for s in cut)
    assert all(s.bootstrap_pos is None for s in samples if s.terminated)
    # GAE by hand: one turn, reward 0, V(s_0) = 0.2; cut -> bootstraps V(s_1) = 0.5
    adv, ret = turn_advantages("ppo", [[0.0]], [0], values=[[0.2]], last_values=[0.5],
                               gamma=1.0, lam=1.0, scale=False)  # fmt: skip
    assert math.isclose(ret[0][0], 0.5) and math.isclose(adv[0][0], 0.0)  # 0.3 - batch mean 0.3


def test_logprobs_are_those_of_the_sampling_distribution_at_temperature():
    from transformers import GenerationConfig

    torch.manual_seed(0)
    model, tok = load_policy("tiny")
    prompt = torch.tensor([tok("<|im_start|>user\nhi", add_special_tokens=False)["input_ids"]])
    config = GenerationConfig(do_sample=True, temperature=0.5, top_k=0, top_p=1.0,
                              max_new_tokens=6, pad_token_id=0)  # fmt: skip
    out = model.generate(input_ids=prompt, attention_mask=torch.ones_like(prompt),
                         generation_config=config, output_scores=True,
                         return_dict_in_generate=True)  # fmt: skip
    sampled = out.sequences[0, prompt.shape[1] :]
    # the sampler's own distribution: log-softmax of the scores generate() sampled from
    theirs = torch.stack([torch.log_softmax(s[0].float(), -1)[t] for s, t in zip(
        out.scores, sampled, strict=True)])  # fmt: skip
    ids = out.sequences
    ours, _ = token_logprobs(model, ids, torch.ones_like(ids), temperature=0.5)
    ours = ours[0, prompt.shape[1] - 1 :]
    torch.testing.assert_close(ours, theirs, atol=1e-4, rtol=1e-4)
    plain, _ = token_logprobs(model, ids, torch.ones_like(ids))
    assert (plain[0, prompt.shape[1] - 1 :] - theirs).abs().max() > 1e-2  # T=1 is not it
