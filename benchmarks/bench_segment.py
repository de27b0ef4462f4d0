"""Segmentation: cvgeo against scikit-learn and scikit-image, single-threaded.

    cd benchmarks && python bench_segment.py [--quick]

* k-means on astronaut RGB (512x512, k=8) vs sklearn.cluster.KMeans, same n_init.
* mean shift on 64x64 astronaut RGB features vs sklearn.cluster.MeanShift (every
  sample a seed, and with bin seeding), plus the modes' agreement (ARI).
* mean-shift segmentation of a 128x128 image (no peer: reported alone).
* Felzenszwalb on astronaut and coffee vs skimage.segmentation.felzenszwalb, plus ARI.
``--quick`` skips the slow all-seeds sklearn MeanShift run (about a minute per call).
"""

from __future__ import annotations

import sys
from pathlib import Path

from _harness import Bench, compile_times  # first: pins every library to one thread

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import skimage.data  # noqa: E402
import skimage.segmentation  # noqa: E402
import skimage.transform  # noqa: E402
from sklearn.cluster import KMeans, MeanShift  # noqa: E402

from cvgeo.segment import (  # noqa: E402
    adjusted_rand_index,
    felzenszwalb,
    kmeans,
    mean_shift,
    mean_shift_segment,
    pixel_features,
)


def bench_kmeans() -> None:
    X = pixel_features(skimage.data.astronaut()).astype(np.float64)
    kmeans(X[:100], 3)  # compile outside the timing
    for n_init in (1, 3):
        ours = kmeans(X, 8, n_init=n_init, seed=0)
        ref = KMeans(8, n_init=n_init, random_state=0).fit(X)
        print(f"k-means n_init={n_init}: inertia cvgeo {ours.inertia:.2f} ({ours.n_iter} it), "
              f"sklearn {ref.inertia_:.2f} ({ref.n_iter_} it), "
              f"ratio {ours.inertia / ref.inertia_:.4f}")
        b = Bench("kmeans", image="astronaut 512x512 RGB", k=8, n_init=n_init)
        b.add("cvgeo", lambda n=n_init: kmeans(X, 8, n_init=n, seed=0))
        b.add("sklearn KMeans", lambda n=n_init: KMeans(8, n_init=n, random_state=0).fit(X))
        b.run(repeats=7)
        b.report()


def bench_mean_shift(quick: bool) -> None:
    img = skimage.transform.resize(skimage.data.astronaut(), (64, 64), anti_aliasing=True)
    X = img.reshape(-1, 3)
    mean_shift(X[:50], bandwidth=0.1)  # compile
    for bw, bin_seeding in ((0.1, True), (0.2, True), (0.1, False)):
        if quick and not bin_seeding:
            continue
        ours = mean_shift(X, bandwidth=bw, bin_seeding=bin_seeding)
        ref = MeanShift(bandwidth=bw, bin_seeding=bin_seeding).fit(X)
        same = ours.centers.shape == ref.cluster_centers_.shape and np.allclose(
            ours.centers, ref.cluster_centers_, atol=1e-9)
        print(f"mean shift bw={bw} bin_seeding={bin_seeding}: {len(ours.centers)} modes "
              f"(sklearn {len(ref.cluster_centers_)}), same modes: {same}, "
              f"ARI {adjusted_rand_index(ref.labels_, ours.labels):.4f}")
        b = Bench("mean_shift", features="astronaut 64x64 RGB", bandwidth=bw,
                  bin_seeding=bin_seeding)
        b.add("cvgeo", lambda bw=bw, s=bin_seeding: mean_shift(X, bandwidth=bw, bin_seeding=s))
        b.add("sklearn MeanShift",
              lambda bw=bw, s=bin_seeding: MeanShift(bandwidth=bw, bin_seeding=s).fit(X))
        if bin_seeding:
            b.run(repeats=5)
        else:  # sklearn needs about a minute per call here
            b.run(repeats=1, warmup=0)
        b.report()


def bench_mean_shift_segment() -> None:
    img = skimage.transform.resize(skimage.data.astronaut(), (128, 128),
                                   anti_aliasing=True).astype(np.float32)
    mean_shift_segment(img[:8, :8])  # compile
    lab = mean_shift_segment(img)
    print(f"mean_shift_segment 128x128 (spatial_bandwidth_px=8, range_bandwidth=0.1): "
          f"{lab.max() + 1} segments")
    b = Bench("mean_shift_segment", image="astronaut 128x128 RGB", spatial_bandwidth_px=8,
              range_bandwidth=0.1)
    b.add("cvgeo", lambda: mean_shift_segment(img, spatial_bandwidth_px=8, range_bandwidth=0.1))
    b.run(repeats=5)
    b.report()


def bench_felzenszwalb() -> None:
    felzenszwalb(np.zeros((8, 8)))  # compile
    for name in ("astronaut", "coffee"):
        img = getattr(skimage.data, name)()
        for scale, sigma, min_size in ((1.0, 0.8, 20), (100.0, 0.5, 50)):
            kw = dict(scale=scale, sigma=sigma, min_size=min_size)
            ours = felzenszwalb(img, **kw)
            ref = skimage.segmentation.felzenszwalb(img, **kw)
            print(f"felzenszwalb {name} {kw}: {ours.max() + 1} segments (skimage "
                  f"{ref.max() + 1}), ARI {adjusted_rand_index(ref, ours):.5f}, "
                  f"smallest {np.bincount(ours.ravel()).min()} px")
            b = Bench("felzenszwalb", image=f"{name} {img.shape[0]}x{img.shape[1]}", **kw)
            b.add("cvgeo", lambda im=img, kw=kw: felzenszwalb(im, **kw))
            b.add("skimage", lambda im=img, kw=kw: skimage.segmentation.felzenszwalb(im, **kw))
            b.run(repeats=7)
            b.report()


def main() -> None:
    quick = "--quick" in sys.argv
    bench_kmeans()
    bench_felzenszwalb()
    bench_mean_shift_segment()
    bench_mean_shift(quick)
    compile_times("import numpy as np\nfrom cvgeo.segment import felzenszwalb, kmeans, "
                  "mean_shift, mean_shift_segment\nimg = np.zeros((16, 16, 3))\n"
                  "felzenszwalb(img); kmeans(img.reshape(-1, 3) + np.arange(3), 2)\n"
                  "mean_shift(np.arange(8.0)[:, None], bandwidth=1.0)\n"
                  "mean_shift_segment(img)")


if __name__ == "__main__":
    main()
