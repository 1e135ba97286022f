{
  "targets": [
    {
      "target_name": "vigo_native",
      "sources": ["native/peercred.c"],
      "cflags": ["-Wall", "-Wextra", "-O2"]
    }
  ]
}
