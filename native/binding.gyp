{
  "targets": [
    {
      "target_name": "vmat_native",
      "sources": ["src/addon.cc", "src/dnnl_ops.cc", "src/group_norm.cc", "src/max_pool.cc", "src/upsample.cc", "src/copy_runs.cc"],
      "include_dirs": ["/usr/include/oneapi"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti"],
      "cflags_cc": ["-std=c++17", "-O3", "-march=native", "-fopenmp", "-ffast-math", "-fexceptions"],
      "ldflags": ["-fopenmp"],
      "libraries": ["-ldnnl", "-lgomp"],
      "defines": ["NAPI_VERSION=8"]
    }
  ]
}
