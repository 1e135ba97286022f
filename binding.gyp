{
  "targets": [
    {
      "target_name": "vigo_native",
      "sources": ["native/peercred.c", "native/fsat.c"],
      "cflags": ["-Wall", "-Wextra", "-O2"]
    }
  ]
}
