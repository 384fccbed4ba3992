// amalgamd: the Amalgam server.
#include <cstdio>
#include <cstring>
#include <string>

int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--help") == 0) {
      std::printf("usage: amalgamd --data-dir DIR\n");
      return 0;
    }
  }
  return 0;
}
