{
  "targets": [
    {
      # Elementwise kernels that must be bit-identical to the JavaScript ones in
      # lib/engine/cpu_kernels.ts: built apart so they get NO -ffast-math (which would replace
      # divisions by reciprocal multiplies, reassociate sums and change exp), and no FMA contraction.
      # -fno-math-errno only drops errno writes (lets sqrt vectorise); it changes no result.
      "target_name": "vmat_exact",
      "type": "static_library",
      "sources": ["src/elementwise.cc", "src/gamma.cc", "src/adam.cc"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti"],
      "cflags_cc": ["-std=c++17", "-O3", "-march=native", "-fopenmp", "-fPIC", "-fno-fast-math", "-ffp-contract=off",
                    "-fno-math-errno", "-fexceptions"]
    },
    {
      "target_name": "vmat_native",
      "dependencies": ["vmat_exact"],
      "sources": ["src/addon.cc", "src/dnnl_ops.cc", "src/group_norm.cc", "src/max_pool.cc", "src/upsample.cc", "src/copy_runs.cc", "src/peak.cc"],
      "include_dirs": ["/usr/include/oneapi"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti"],
      "cflags_cc": ["-std=c++17", "-O3", "-march=native", "-fopenmp", "-ffast-math", "-fexceptions"],
      "ldflags": ["-fopenmp"],
      "libraries": ["-ldnnl", "-lgomp"],
      "defines": ["NAPI_VERSION=8"]
    }
  ]
}
