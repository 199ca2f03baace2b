// The tutorial's model: a contrastive loss written as a user would (subclass Loss, override
// hybridForward) and the Siamese network whose two towers share every weight.
import { gluon, type F, type Tensor } from '../../src/index.js';

/**
 * Contrastive loss (Hadsell, Chopra, LeCun 2006): similar pairs (label 0) are pulled together by
 * their squared distance; dissimilar pairs (label 1) are pushed apart until `margin`.
 */
export class ContrastiveLoss extends gluon.loss.Loss<[image1: Tensor, image2: Tensor, label: Tensor]> {
  constructor(readonly margin = 6, weight: number | null = null, batchAxis = 0) {
    super(weight, batchAxis);
  }

  override hybridForward(F: F, image1: Tensor, image2: Tensor, label: Tensor): Tensor {
    const distances = F.sub(image1, image2);
    const distancesSquared = F.sum(F.square(distances), 1, true);
    // The epsilon keeps sqrt's gradient finite for identical embeddings.
    const euclidean = F.sqrt(F.add(distancesSquared, 0.0001));
    const d = F.clip(F.sub(this.margin, euclidean), 0, this.margin);
    const loss = F.add(F.mul(F.sub(1, label), distancesSquared), F.mul(label, F.square(d)));
    return F.mul(0.5, loss);
  }
}

/** The towers the example can train: the tutorial's, or a deeper one with BatchNorm. */
export const TOWERS = ['tutorial', 'deep'] as const;
export type TowerName = (typeof TOWERS)[number];

export interface SiameseOptions {
  /** 'tutorial' (default): the tutorial's tower; 'deep': 4 × (conv 64@3 pad 1, BatchNorm, relu, max-pool 2), dense. */
  tower?: TowerName;
  /** Size of the embedding (default 2, the tutorial's, which it can draw in a plane). */
  embeddingDim?: number;
}

/**
 * 'tutorial': conv 64@5 relu, max-pool 2, conv 64@5 relu, max-pool 2, dense 256 relu, dense
 * `embeddingDim` softrelu. 'deep': the Omniglot tower of Vinyals et al. / Snell et al. (four
 * blocks of conv 3x3, BatchNorm, relu, max-pool 2), then a linear dense `embeddingDim`.
 */
export class Siamese extends gluon.HybridBlock<[Tensor, Tensor], [Tensor, Tensor]> {
  readonly cnn = new gluon.nn.HybridSequential();
  readonly tower: TowerName;
  readonly embeddingDim: number;

  constructor(opts: SiameseOptions = {}) {
    super();
    this.tower = opts.tower ?? 'tutorial';
    this.embeddingDim = opts.embeddingDim ?? 2;
    if (!Number.isInteger(this.embeddingDim) || this.embeddingDim < 1) throw new Error(`webgluon: embeddingDim must be a positive integer, got ${this.embeddingDim}`);
    if (this.tower === 'tutorial') {
      this.cnn.add(
        new gluon.nn.Conv2D(64, 5, { activation: 'relu' }),
        new gluon.nn.MaxPool2D({ poolSize: 2, strides: 2 }),
        new gluon.nn.Conv2D(64, 5, { activation: 'relu' }),
        new gluon.nn.MaxPool2D({ poolSize: 2, strides: 2 }),
        new gluon.nn.Dense(256, { activation: 'relu' }),
        new gluon.nn.Dense(this.embeddingDim, { activation: 'softrelu' }),
      );
    } else if (this.tower === 'deep') {
      for (let i = 0; i < 4; i++) {
        this.cnn.add(
          new gluon.nn.Conv2D(64, 3, { padding: 1 }),
          new gluon.nn.BatchNorm(),
          new gluon.nn.Activation('relu'),
          new gluon.nn.MaxPool2D({ poolSize: 2, strides: 2 }),
        );
      }
      this.cnn.add(new gluon.nn.Dense(this.embeddingDim));
    } else {
      throw new Error(`webgluon: unknown tower '${String(this.tower)}'; expected one of ${TOWERS.join(', ')}`);
    }
  }

  /**
   * Both images go through the same tower. They are stacked into one batch of 2N so that each
   * layer runs once per step instead of twice — the same arithmetic, half the kernels.
   */
  override hybridForward(F: F, input0: Tensor, input1: Tensor): [Tensor, Tensor] {
    const n = input0.shape[0];
    const both = this.cnn.forward(F.concat([input0, input1], 0));
    return [F.slice(both, [0, null], [n, null]), F.slice(both, [n, null], [2 * n, null])];
  }
}
