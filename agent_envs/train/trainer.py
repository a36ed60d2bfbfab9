"""``Trainer``: rollouts, advantages and clipped policy-gradient updates, step by step."""

from __future__ import annotations

import copy
import random
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from agent_envs.train.algorithms import (
    similarity_shaped_rewards,
    token_advantages,
    turn_advantages,
)
from agent_envs.train.chat import ChatFormat
from agent_envs.train.checkpoint import CHECKPOINT_DIR, load_trainer_state, save_checkpoint
from agent_envs.train.config import TrainConfig
from agent_envs.train.evaluation import evaluation_summary
from agent_envs.train.loss import clipped_pg_terms, kl_k3, pad_sequences, token_logprobs
from agent_envs.train.policy import load_policy, resolve_device
from agent_envs.train.run_log import RunLog, plot_learning_curve
from agent_envs.train.sampler import Sampler
from agent_envs.train.sampling import (
    Sample,
    episode_stats,
    mean_or_nan,
    play_groups,
    play_turn_groups,
)
from agent_envs.train.sft import (
    collect_expert_episodes,
    read_chat_jsonl,
    sft_conversation,
    sft_loss,
)

__all__ = ["Trainer"]


class Trainer:
    """The reference trainer: one :meth:`step` = rollouts, advantages, ``epochs`` updates.

    Every environment is ``agent_envs.make(env_id, **env_kwargs)`` in the run's reward
    scheme (:func:`agent_envs.wrappers.wrap_reward`), the same stack for every algorithm;
    TL-GRPO forks that whole stack. The first ``config.sft_steps`` steps of the budget
    are supervised steps on expert episodes (:meth:`sft_step`).

    Example:
        >>> cfg = TrainConfig(model="tiny", algo="grpo", group_size=2, max_new_tokens=3,
        ...                   max_turns=1, env_kwargs={"high": 9}, system_prompt="")
        >>> trainer = Trainer(cfg)
        >>> row = trainer.step()
        >>> row["step"], row["agent_tokens"] > 0
        (1, True)
    """

    def __init__(self, config: TrainConfig, *, model: Any = None, tokenizer: Any = None) -> None:
        import torch

        config.validate()
        if (model is None) != (tokenizer is None):
            raise ValueError("pass both model and tokenizer, or neither (config.model is loaded)")
        self.cfg = cfg = config
        random.seed(cfg.seed)
        np.random.seed(cfg.seed)
        torch.manual_seed(cfg.seed)
        if cfg.cpu_threads is not None:
            torch.set_num_threads(cfg.cpu_threads)
        self.device, self.autocast = resolve_device(cfg.device, cfg.dtype)
        if model is None:
            model, tokenizer = load_policy(cfg.model)
        self.reference = None
        if cfg.kl_coef > 0:  # frozen copy of the starting policy
            self.reference = copy.deepcopy(model).to(self.device).eval().requires_grad_(False)
        ckpt = Path(cfg.out_dir) / CHECKPOINT_DIR if cfg.out_dir else None
        resuming = bool(cfg.resume and ckpt and ckpt.exists())
        if resuming:
            model = type(model).from_pretrained(ckpt, dtype=torch.float32)
        self.model, self.tokenizer = model.to(self.device), tokenizer
        self.value_head = None
        params = list(self.model.parameters())
        if cfg.algo == "ppo":
            hidden = self.model.config.get_text_config().hidden_size
            self.value_head = torch.nn.Linear(hidden, 1).to(self.device)
            torch.nn.init.zeros_(self.value_head.weight)
            torch.nn.init.zeros_(self.value_head.bias)
            params += list(self.value_head.parameters())
        self.params = params
        self.optimizer = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
        self.sampler = Sampler(
            self.model,
            tokenizer,
            max_new_tokens=cfg.max_new_tokens,
            temperature=cfg.temperature,
            autocast_dtype=self.autocast,
        )
        n_envs = cfg.groups_per_step * (1 if cfg.algo == "tl-grpo" else cfg.group_size)
        self.envs = [self.make_env(k) for k in range(n_envs)]
        self._sft_data: list[list[dict[str, str]]] | None = None
        self._evaluations = 0
        self.step_count = 0
        self.log = RunLog(cfg.out_dir, resume=resuming) if cfg.out_dir else None
        if resuming:
            state = load_trainer_state(ckpt)
            self.step_count = state["step"]
            self.optimizer.load_state_dict(state["optimizer"])
            if self.value_head is not None:
                self.value_head.load_state_dict(state["value_head"])
            self.log.truncate(self.step_count)

    def make_env(
        self, member: int = 0, *, reward: str | None = None, evaluation: bool = False
    ) -> Any:
        """``agent_envs.make`` of the run's id in reward scheme ``reward`` (default: the run's).

        Each member gets its own dropout ``coin_seed`` so group members differ;
        ``evaluation`` adds ``config.eval_env_kwargs`` (e.g. another data split).
        """
        from agent_envs import make

        cfg = self.cfg
        scheme = cfg.reward if reward is None else reward
        kwargs = dict(cfg.reward_kwargs) if scheme == cfg.reward else {}
        if scheme == "dropout":
            kwargs.setdefault("coin_seed", member)
        env_kwargs = {**cfg.env_kwargs, **(cfg.eval_env_kwargs if evaluation else {})}
        return make(cfg.env_id, reward=scheme, reward_kwargs=kwargs, **env_kwargs)

    # ------------------------------------------------------------------ rollouts
    def _seeds(self, step: int, n: int, stream: int = 0) -> list[int]:
        rng = np.random.default_rng([self.cfg.seed, stream, step])
        return [int(s) for s in rng.integers(0, 2**31 - 1, size=n)]

    def rollout(self, step: int) -> tuple[list[Sample], list[Sample]]:
        """``(training samples, episodes)`` for one step (the same list except for TL-GRPO)."""
        cfg = self.cfg
        seeds = self._seeds(step, cfg.groups_per_step)
        self.model.eval()
        kw = dict(
            group_size=cfg.group_size, max_turns=cfg.max_turns, system_prompt=cfg.system_prompt
        )
        if cfg.algo == "tl-grpo":
            rng = np.random.default_rng([cfg.seed, 3, step])
            return play_turn_groups(self.envs, seeds, self.sampler, group_turns=cfg.group_turns,
                                    choose=cfg.choose, rng=rng, **kw)  # fmt: skip
        episodes = play_groups(self.envs, seeds, self.sampler, bootstrap=cfg.algo == "ppo", **kw)
        return [e for e in episodes if e.turn_rewards], episodes

    def evaluate(self, episodes: int | None = None, *, seed_stream: int = 1) -> dict[str, Any]:
        """Success, best score and native return of the current policy, with 95 % intervals.

        Held-out tasks: their own seed stream, the same before and after training and
        disjoint in practice from the training seeds (both are drawn from 2^31 values);
        each call samples the replies afresh (a seed of its own per call).
        Replies are sampled at the run's temperature; the return is the env's *native*
        return whatever ``--reward`` trains on, so runs with different schemes compare.
        """
        cfg = self.cfg
        episodes = cfg.eval_episodes if episodes is None else episodes
        import torch

        envs = [self.make_env(k, reward="native", evaluation=True) for k in range(episodes)]
        self.model.eval()
        devices = [self.device] if self.device.type == "cuda" else []
        # Its own sampling randomness: evaluating never shifts the training run's. Each
        # evaluation of this trainer draws fresh samples on the same tasks, so an lr~0
        # control's before/after difference measures the evaluation's own noise.
        with torch.random.fork_rng(devices=devices):
            torch.manual_seed(cfg.seed + 7919 * seed_stream + 104729 * self._evaluations)
            self._evaluations += 1
            try:
                played = play_groups(
                    envs,
                    self._seeds(0, episodes, seed_stream),
                    self.sampler,
                    group_size=1,
                    max_turns=cfg.max_turns,
                    system_prompt=cfg.system_prompt,
                )
            finally:
                for env in envs:
                    env.close()
        return evaluation_summary(played)

    # ------------------------------------------------------------------ supervised warm start
    def expert_chats(self) -> list[list[dict[str, str]]]:
        """The expert chats of the SFT phase: ``config.sft_data`` or the family's expert.

        The expert plays tasks of its own seed stream (not the evaluation's), one per
        sequence of the SFT steps.
        """
        if self._sft_data is None:
            cfg = self.cfg
            if cfg.sft_data:
                self._sft_data = read_chat_jsonl(cfg.sft_data)
            else:
                n = max(1, cfg.sft_steps * cfg.groups_per_step * cfg.group_size)
                episodes = collect_expert_episodes(
                    cfg.env_id, self._seeds(0, n, 2), env_kwargs=cfg.env_kwargs,
                    max_turns=cfg.max_turns,
                )  # fmt: skip
                self._sft_data = [t.to_messages(include_last_observation=False) for t in episodes]
            if not self._sft_data:
                raise ValueError(f"no expert episode for SFT on {self.cfg.env_id}")
        return self._sft_data

    def sft_step(self) -> dict[str, Any]:
        """One supervised step: NLL of the agent tokens of a batch of expert chats."""
        import torch

        cfg, start = self.cfg, time.perf_counter()
        chats = self.expert_chats()
        size = cfg.groups_per_step * cfg.group_size
        first = (self.step_count * size) % len(chats)
        batch = [chats[(first + i) % len(chats)] for i in range(size)]
        stop = min(self.sampler.stop_ids) if self.sampler.stop_ids else self.tokenizer.eos_token_id
        fmt = ChatFormat(self.tokenizer)
        convs = [sft_conversation(fmt, m, stop_id=stop, system_prompt=cfg.system_prompt)
                 for m in batch]  # fmt: skip
        convs = [c for c in convs if self.sampler.max_length is None
                 or len(c.ids) <= self.sampler.max_length]  # fmt: skip
        n_tokens = max(1, sum(sum(c.mask) for c in convs))
        lr = cfg.sft_lr if cfg.sft_lr is not None else cfg.lr
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        self.model.train()
        self.optimizer.zero_grad(set_to_none=True)
        total = 0.0
        for i in range(0, len(convs), cfg.micro_batch_size):
            nll, _ = sft_loss(self.model, convs[i : i + cfg.micro_batch_size],
                              pad_id=self.sampler.pad_id, autocast_dtype=self.autocast)  # fmt: skip
            (nll / n_tokens).backward()
            total += nll.item()
        grad_norm = torch.nn.utils.clip_grad_norm_(self.params, cfg.max_grad_norm)
        self.optimizer.step()
        for group in self.optimizer.param_groups:
            group["lr"] = cfg.lr
        self.step_count += 1
        seconds = time.perf_counter() - start
        row = {"step": self.step_count, "phase": "sft", "sft_nll": total / n_tokens,
               "agent_tokens": n_tokens, "grad_norm": float(grad_norm), "seconds": seconds}  # fmt: skip
        if self.log is not None:
            self.log.write(row)
        if not cfg.quiet:
            print(f"[sft] step {self.step_count}/{cfg.steps} nll/token {row['sft_nll']:.4f}",
                  file=sys.stderr, flush=True)  # fmt: skip
        return row

    # ------------------------------------------------------------------ updates
    def _forward(self, batch: list[Sample], model: Any, hidden: bool = False) -> tuple[Any, Any]:
        import torch

        ids = pad_sequences([s.conv.ids for s in batch], self.sampler.pad_id, torch.long)
        attention = pad_sequences([[1] * len(s.conv.ids) for s in batch], 0, torch.long)
        return token_logprobs(
            model,
            ids.to(self.device),
            attention.to(self.device),
            autocast_dtype=self.autocast,
            hidden=hidden,
            temperature=self.cfg.temperature,
        )

    def _values(self, batch: list[Sample], last_hidden: Any, *, bootstrap: bool = False) -> Any:
        import torch

        if bootstrap:  # V(s_T) of the truncated samples that recorded where to read it
            picked_at = [(b, s.bootstrap_pos) for b, s in enumerate(batch)
                         if s.bootstrap_pos is not None]  # fmt: skip
            if not picked_at:
                return last_hidden.new_zeros(0)
            rows, cols = [b for b, _ in picked_at], [p for _, p in picked_at]
        else:
            rows = [b for b, s in enumerate(batch) for _ in s.conv.value_pos]
            cols = [p for s in batch for p in s.conv.value_pos]
        dev = last_hidden.device
        picked = last_hidden[torch.tensor(rows, device=dev), torch.tensor(cols, device=dev)].float()
        return self.value_head(picked).squeeze(-1)

    def update(self, samples: list[Sample]) -> dict[str, float]:
        """Advantages and ``epochs`` clipped policy-gradient steps over ``samples``."""
        import torch

        cfg, mbs = self.cfg, self.cfg.micro_batch_size
        if not samples:  # every episode was cut before its first reply (context too long)
            return {"loss": 0.0, "pg_loss": 0.0, "clip_frac": 0.0, "value_loss": None,
                    "kl_ref": None, "kl_old": 0.0, "grad_norm": 0.0}  # fmt: skip
        batches = [samples[i : i + mbs] for i in range(0, len(samples), mbs)]
        old, ref, values, boot = [], [], [], []
        with torch.no_grad():
            for batch in batches:
                logp, hidden = self._forward(batch, self.model, hidden=self.value_head is not None)
                old.append(logp)
                if self.reference is not None:
                    ref.append(self._forward(batch, self.reference)[0])
                if self.value_head is not None:
                    values += self._values(batch, hidden).tolist()
                    boot += self._values(batch, hidden, bootstrap=True).tolist()
        boot_iter = iter(boot)
        # GAE: V(s_T) = 0 after a terminal state; the critic's estimate after a truncation
        last_values = [next(boot_iter) if s.bootstrap_pos is not None else 0.0 for s in samples]
        turn_values, k = [], 0
        for s in samples:
            turn_values.append(values[k : k + s.conv.turns])
            k += s.conv.turns
        rewards = [s.turn_rewards for s in samples]
        if cfg.algo == "gtpo" and cfg.similarity_coef > 0:
            rewards = similarity_shaped_rewards(
                [s.trajectory for s in samples], [s.group for s in samples],
                weight=cfg.similarity_coef,
            )  # fmt: skip
        adv, returns = turn_advantages(
            cfg.algo, rewards, [s.group for s in samples],
            gamma=cfg.gamma, lam=cfg.lam, scale=cfg.scale_advantages,
            values=turn_values if self.value_head is not None else None,
            last_values=last_values, states=[s.observations for s in samples], omega=cfg.omega,
        )  # fmt: skip
        token_adv = [token_advantages(s.conv.turn_of, a) for s, a in zip(samples, adv, strict=True)]
        n_tokens = max(1, sum(sum(s.conv.mask) for s in samples))
        n_turns = max(1, sum(s.conv.turns for s in samples))
        totals: dict[str, float] = {}
        self.model.train()
        for _ in range(cfg.epochs):
            totals = dict.fromkeys(("pg", "kl", "vf", "clip", "approx_kl"), 0.0)
            self.optimizer.zero_grad(set_to_none=True)
            start = 0
            for b, batch in enumerate(batches):
                rows = slice(start, start + len(batch))
                start += len(batch)
                mask = pad_sequences([s.conv.mask[1:] for s in batch], 0, torch.float32)
                a = pad_sequences([t[1:] for t in token_adv[rows]], 0.0, torch.float32)
                mask, a = mask.to(self.device), a.to(self.device)
                logp, hidden = self._forward(batch, self.model, hidden=self.value_head is not None)
                pg, clip, approx = clipped_pg_terms(logp, old[b], a, mask, cfg.clip_eps)
                loss = pg / n_tokens
                totals["pg"] += pg.item() / n_tokens
                totals["clip"] += clip.item() / n_tokens
                totals["approx_kl"] += approx.item() / n_tokens
                if self.reference is not None:
                    kl = kl_k3(logp, ref[b], mask) / n_tokens
                    loss = loss + cfg.kl_coef * kl
                    totals["kl"] += kl.item()
                if self.value_head is not None:
                    target = torch.tensor(
                        [r for x in returns[rows] for r in x],
                        dtype=torch.float32,
                        device=self.device,
                    )
                    vf = 0.5 * ((self._values(batch, hidden) - target) ** 2).sum() / n_turns
                    loss = loss + cfg.vf_coef * vf
                    totals["vf"] += vf.item()
                loss.backward()
            grad_norm = torch.nn.utils.clip_grad_norm_(self.params, cfg.max_grad_norm)
            self.optimizer.step()
            totals["grad_norm"] = float(grad_norm)
        loss_value = totals["pg"] + cfg.kl_coef * totals["kl"] + cfg.vf_coef * totals["vf"]
        return {
            "loss": loss_value, "pg_loss": totals["pg"], "clip_frac": totals["clip"],
            "value_loss": totals["vf"] if self.value_head is not None else None,
            "kl_ref": totals["kl"] if self.reference is not None else None,
            "kl_old": totals["approx_kl"], "grad_norm": totals["grad_norm"],
        }  # fmt: skip

    # ------------------------------------------------------------------ loop
    def step(self) -> dict[str, Any]:
        """Play one step's rollouts, update the policy, log and return the step's numbers."""
        start = time.perf_counter()
        samples, episodes = self.rollout(self.step_count)
        sample_seconds = time.perf_counter() - start
        stats = self.update(samples)
        self.step_count += 1
        seconds = time.perf_counter() - start
        tokens = sum(sum(s.conv.mask) for s in samples)
        summary = evaluation_summary(episodes)  # 95 % intervals over this step's episodes
        row = {
            "step": self.step_count,
            **episode_stats(episodes),
            "return_low": summary["return"]["low"],
            "return_high": summary["return"]["high"],
            "success_low": summary["success"]["low"],
            "success_high": summary["success"]["high"],
            "turn_reward": mean_or_nan([r for s in samples for r in s.turn_rewards]),
            **stats,
            "agent_tokens": tokens,
            "tokens_per_s": tokens / seconds,
            "sample_tokens_per_s": tokens / max(sample_seconds, 1e-9),
            "seconds": seconds,
        }
        if self.log is not None:
            self.log.write(row)
        if not self.cfg.quiet:
            kl = "" if row["kl_ref"] is None else f" kl {row['kl_ref']:.4f}"
            # TL-GRPO's episodes follow the chosen candidate: an optimistic path, not the policy
            ret = "chosen-path return" if self.cfg.algo == "tl-grpo" else "return"
            print(
                f"[{self.cfg.algo}] step {self.step_count}/{self.cfg.steps} reward "
                f"{row['turn_reward']:.3f} {ret} {row['episode_return']:.3f} success "
                f"{row['success']:.2f} loss {row['loss']:.4f}{kl} {row['tokens_per_s']:.0f} tok/s",
                file=sys.stderr, flush=True,
            )  # fmt: skip
        return row

    def train(self, steps: int | None = None) -> list[dict[str, Any]]:
        """Run until ``steps`` (default ``config.steps``) steps are done; save and plot."""
        steps = self.cfg.steps if steps is None else steps
        rows = []
        while self.step_count < steps:
            sft = self.step_count < self.cfg.sft_steps
            rows.append(self.sft_step() if sft else self.step())
            if self.cfg.save_every and self.step_count % self.cfg.save_every == 0:
                self.save()
        if self.cfg.out_dir:
            self.save()
            title = f"{self.cfg.algo} on {self.cfg.env_id} ({self.cfg.model})"
            rl_rows = [r for r in self.log.rows() if r.get("phase") != "sft"]
            if rl_rows:
                plot_learning_curve(rl_rows, Path(self.cfg.out_dir) / "learning_curve.png", title)
        return rows

    def save(self) -> Path:
        """Write ``OUT/checkpoint`` (policy, tokenizer, optimizer, value head, RNG states)."""
        state = {
            "step": self.step_count,
            "optimizer": self.optimizer.state_dict(),
            "value_head": None if self.value_head is None else self.value_head.state_dict(),
        }
        return save_checkpoint(self.cfg.out_dir, model=self.model, tokenizer=self.tokenizer,
                               state=state, config=self.cfg.to_dict())  # fmt: skip

    def close(self) -> None:
        """Close the environments."""
        for env in self.envs:
            env.close()
