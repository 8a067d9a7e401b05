// Architecture specs and the zoo: the paper's exact counts, shapes, and
// errors that name the line and the problem.
#include <gtest/gtest.h>

#include <stdexcept>

#include "net/arch.hpp"
#include "net/zoo.hpp"

using namespace allconv;

namespace {
std::string error_of(const std::string& spec) {
    try {
        parse_arch(spec, "my.spec");
    } catch (const std::invalid_argument& e) {
        return e.what();
    }
    return "(no error)";
}
} // namespace

// Parameter counts from PAPER.md (counted independently from Tables 1, 2, 6).
TEST(Zoo, ParameterCountsMatchThePaper) {
    const std::pair<const char*, unsigned long long> expected[] = {
        {"model-a", 839242},         {"strided-cnn-a", 839242},   {"convpool-cnn-a", 1254250},
        {"all-cnn-a", 1254250},      {"model-b", 885610},         {"strided-cnn-b", 885610},
        {"convpool-cnn-b", 1300618}, {"all-cnn-b", 1300618},      {"model-c", 954730},
        {"strided-cnn-c", 954730},   {"convpool-cnn-c", 1369738}, {"all-cnn-c", 1369738},
        {"all-cnn-imagenet", 9372840}};
    for (const auto& [name, params] : expected) EXPECT_EQ(parse_arch(zoo_spec(name)).params(), params) << name;
    EXPECT_EQ(zoo_names().size(), 13u);
}

// Multiply-adds from PAPER.md: 270,798,336 (All-CNN-C) and 1,213,344,288 (ImageNet).
TEST(Zoo, MultiplyAddsMatchThePaper) {
    EXPECT_EQ(parse_arch(zoo_spec("all-cnn-c")).macs(), 270798336ull);
    EXPECT_EQ(parse_arch(zoo_spec("all-cnn-imagenet")).macs(), 1213344288ull);
}

// All-CNN-C: 32 -> 32 -> 16 -> 16 -> 16 -> 8 -> 6 -> 6 -> 6 -> 1 over its conv layers and gap.
TEST(Zoo, AllCnnCSpatialSizes) {
    Arch a = parse_arch(zoo_spec("all-cnn-c"));
    std::vector<int> sizes;
    for (const Layer& l : a.layers)
        if (l.kind == LayerKind::conv || l.kind == LayerKind::gap) sizes.push_back(l.out.h);
    EXPECT_EQ(sizes, (std::vector<int>{32, 32, 16, 16, 16, 8, 6, 6, 6, 1}));
    EXPECT_EQ(a.layers[a.find("conv6")].out.c, 192);
    EXPECT_EQ(a.layers[a.find("conv9")].out.c, 10);
}

// ImageNet All-CNN, 227x227: 55,55,27,27,27,13,13,13,6,6,6,6 and a 6x6 global pool.
TEST(Zoo, ImageNetSizesRunDownToSixBySix) {
    Arch a = parse_arch(zoo_spec("all-cnn-imagenet"));
    std::vector<int> sizes;
    for (const Layer& l : a.layers)
        if (l.kind == LayerKind::conv) sizes.push_back(l.out.h);
    EXPECT_EQ(sizes, (std::vector<int>{55, 55, 27, 27, 27, 13, 13, 13, 6, 6, 6, 6}));
    EXPECT_EQ(a.layers[a.logits_layer()].in.h, 6);
}

// Width multiplier and input: All-CNN-C at width 1/3 on 1x28x28 has 32 and 64 channels.
TEST(Zoo, WidthAndInputAreConfigurable) {
    ZooOptions o;
    o.input = {1, 1, 28, 28};
    o.width = 1.0 / 3.0;
    Arch a = parse_arch(zoo_spec("all-cnn-c", o));
    EXPECT_EQ(a.layers[a.find("conv1")].out.c, 32);
    EXPECT_EQ(a.layers[a.find("conv4")].out.c, 64);
    EXPECT_EQ(a.layers[a.find("conv9")].out.c, 10);
    EXPECT_EQ(a.layers[a.find("conv7")].out.h, 5); // 28 -> 14 -> 7 -> 5
    EXPECT_THROW(zoo_spec("all-cnn-d"), std::invalid_argument);
    EXPECT_THROW(zoo_spec("all-cnn-c", ZooOptions{{1, 0, 0, 0}, -1.0, 0}), std::invalid_argument);
}

TEST(Arch, LayersAreNamedInOrderOfTheirKind) {
    Arch a = parse_arch("input 1x8x8\nconv 2 k3 p1; relu\nmaxpool k2\nconv 3 k3 # a comment\nrelu; dropout 0.5; gap; softmax");
    std::vector<std::string> names;
    for (const Layer& l : a.layers) names.push_back(l.name);
    EXPECT_EQ(names, (std::vector<std::string>{"conv1", "relu1", "pool1", "conv2", "relu2", "dropout1", "gap",
                                               "softmax"}));
    EXPECT_EQ(a.layers[2].stride, 2); // maxpool stride defaults to its window
    EXPECT_EQ(a.logits_layer(), 6);
}

TEST(Arch, CanonicalSpecParsesBackToTheSameNetwork) {
    Arch a = parse_arch(zoo_spec("convpool-cnn-b"));
    Arch b = parse_arch(arch_spec(a));
    EXPECT_EQ(arch_spec(a), arch_spec(b));
    EXPECT_EQ(a.params(), b.params());
}

TEST(ArchErrors, UnknownLayerKindNamesTheLineAndKind) {
    std::string e = error_of("input 1x8x8\nconv 2 k3\nbatchnorm\n");
    EXPECT_NE(e.find("my.spec:3"), std::string::npos) << e;
    EXPECT_NE(e.find("unknown layer kind 'batchnorm'"), std::string::npos) << e;
}

TEST(ArchErrors, MalformedLinesSayWhatWasExpected) {
    EXPECT_NE(error_of("input 1x8x8; conv k3").find("expected the number of output channels"), std::string::npos);
    EXPECT_NE(error_of("input 1x8x8; conv 4").find("needs a kernel size"), std::string::npos);
    EXPECT_NE(error_of("input 1x8x8; conv 4 k3 q2").find("unknown option 'q2'"), std::string::npos);
    EXPECT_NE(error_of("input 1x8x8; conv -4 k3").find("expected the number of output channels"), std::string::npos);
    EXPECT_NE(error_of("input 1x8; conv 4 k3").find("expected 'input CxHxW'"), std::string::npos);
    EXPECT_NE(error_of("conv 4 k3").find("must start with 'input"), std::string::npos);
    EXPECT_NE(error_of("input 1x8x8; relu 3").find("takes no options"), std::string::npos);
    EXPECT_NE(error_of("input 1x8x8; dropout 1.5").find("0 <= P < 1"), std::string::npos);
    EXPECT_NE(error_of("").find("empty"), std::string::npos);
    EXPECT_NE(error_of("input 1x8x8; conv 4 k99999999999").find("expected a number"), std::string::npos);
}

TEST(ArchErrors, ImpossibleShapesNameTheLayerAndSizes) {
    std::string e = error_of("input 1x8x8\nconv 4 k3\nconv 4 k7\n");
    EXPECT_NE(e.find("my.spec:3"), std::string::npos) << e;
    EXPECT_NE(e.find("does not fit input 6"), std::string::npos) << e;
    EXPECT_NE(error_of("input 1x8x8; conv 4 k3 s0").find("stride 0"), std::string::npos);
    EXPECT_NE(error_of("input 1x8x8; maxpool k2 p2").find("more than half"), std::string::npos);
    EXPECT_NE(error_of("input 1x8x8; conv 4 k3; softmax").find("put 'gap' before it"), std::string::npos);
    EXPECT_NE(error_of("input 0x8x8").find("at least 1"), std::string::npos);
}

TEST(Arch, FindUnknownLayerListsTheNames) {
    Arch a = parse_arch("input 1x4x4; conv 1 k1; relu");
    try {
        a.find("conv9");
        FAIL();
    } catch (const std::invalid_argument& e) {
        EXPECT_NE(std::string(e.what()).find("conv1, relu1"), std::string::npos) << e.what();
    }
}
