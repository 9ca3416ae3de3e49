"""Sample-quality and reconstruction metrics computed from features or images.

fid: streaming Gaussian statistics and the Fréchet distance.
kid: unbiased kernel inception distance over subsets.
inception_score: exp E[KL(p(y|x) || p(y))].
prdc: k-NN precision/recall and density/coverage.
image: PSNR, SSIM, L1 per image.
memorization: nearest training images of samples vs of held-out data.
"""
from genjax.metrics.fid import GaussianStats, frechet_distance
from genjax.metrics.image import MAX_PSNR, l1, paired_metrics, psnr, psnr_from_mse, ssim
from genjax.metrics.kid import kernel_inception_distance
from genjax.metrics.memorization import closest_pairs_grid, memorization, nearest
from genjax.metrics.prdc import precision_recall_density_coverage
from genjax.metrics.scores import inception_score
