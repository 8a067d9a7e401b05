// allconv extract: dataset images out as PGM files (for samples and tests).
#include <cstdio>
#include <filesystem>
#include <sstream>

#include "cli.hpp"
#include "io/file.hpp"
#include "io/image.hpp"
#include "net/dataset.hpp"

namespace allconv {

extern const char* const extract_help =
    "usage: allconv extract --index I1,I2,... --out-dir DIR [--split t10k|train] [--data DIR]\n"
    "\n"
    "Writes the chosen Fashion-MNIST images as binary PGM files named\n"
    "<split>-<index>-<class>.pgm, e.g. t10k-0-ankle-boot.pgm.\n";

int cmd_extract(int argc, char** argv) {
    if (wants_help(argc, argv, extract_help)) return 0;
    const Args args(argc, argv, {"index", "out-dir", "split", "data"}, {});
    if (!args.has("index") || !args.has("out-dir")) throw UsageError("--index and --out-dir are required");
    const std::string split = args.str("split", "t10k"), dir = args.str("out-dir", "");
    if (split != "t10k" && split != "train") throw UsageError("--split: expected t10k or train");
    if (dir.empty() || !std::filesystem::is_directory(dir)) throw UsageError("--out-dir: '" + dir + "' is not a folder");
    const Dataset d = load_fashion_mnist(args.str("data", default_data_dir()), split);
    // Every index is checked before anything is written; then all files or none.
    std::vector<long> indices;
    std::stringstream list(args.str("index", ""));
    for (std::string item; std::getline(list, item, ',');) {
        char* end = nullptr;
        const long i = std::strtol(item.c_str(), &end, 10);
        if (item.empty() || *end != '\0' || i < 0 || i >= d.count())
            throw UsageError("--index: '" + item + "' is not an image index below " + std::to_string(d.count()));
        indices.push_back(i);
    }
    if (indices.empty()) throw UsageError("--index: expected indices like 0,1,13");
    StagedFiles files;
    std::vector<std::string> paths;
    for (long i : indices) {
        paths.push_back(dir + "/" + split + "-" + std::to_string(i) + "-" + class_slug(fashion_mnist_classes()[d.labels[i]]) + ".pgm");
        files.add(paths.back(), pnm_encode(d.at(int(i))));
    }
    files.commit();
    for (const std::string& p : paths) std::printf("%s\n", p.c_str());
    return 0;
}

} // namespace allconv
