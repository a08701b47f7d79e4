# Shared by the time-boxed GPU benchmark scripts (gpu_signatures.sh, gpu_nosh.sh); source it.

# Fashion-MNIST from Debian's package into .data/ (git-ignored), to carry to the device (~30 MB)
prepare_fashion_mnist() {
    mkdir -p .data/fashion-mnist
    cp /usr/share/datasets/fashion-mnist/*-ubyte.gz .data/fashion-mnist/
    grep -qx '/.data/' .git/info/exclude 2>/dev/null || echo '/.data/' >>.git/info/exclude
    ls -la .data/fashion-mnist
}

# unbuffered output, the checkout on PYTHONPATH, and which GPU this call got
start_device_run() {
    export PYTHONUNBUFFERED=1 PYTHONPATH=$PWD
    nvidia-smi --query-gpu=name,memory.total --format=csv,noheader || true
}
