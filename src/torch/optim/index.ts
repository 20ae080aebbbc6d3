// torch.optim: optimisers, learning-rate schedules and gradient clipping.
export { Optimizer, type GroupOptions, type ParamGroup, type ParamsArg, type ParamState, type OptimizerStateDict } from './optimizer.js';
export { SGD, type SGDOptions } from './sgd.js';
export { Adam, AdamW, type AdamOptions } from './adam.js';
export { LRScheduler, StepLR, LinearLR, CosineAnnealingLR, LambdaLR, LinearDecayLR } from './lr-scheduler.js';
export { clipGradNorm_, clipGradValue_ } from './clip-grad.js';
