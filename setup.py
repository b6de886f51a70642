from setuptools import find_packages, setup

setup(
    name="hier_keras",
    version="0.1.0",
    description="Keras 3 model zoo for hierarchical (coarse-to-fine) image classification",
    long_description=open("README.md").read() if __import__("os").path.exists("README.md") else "",
    long_description_content_type="text/markdown",
    python_requires=">=3.10",
    packages=find_packages(include=["hier_keras", "hier_keras.*"]) + ["hier_keras.zoo"],
    package_dir={"hier_keras.zoo": "zoo"},
    package_data={
        "hier_keras.data": ["bundled/*.npz", "bundled/*.txt"],
        "hier_keras.zoo": ["*.json", "*.md", "*/*", "*/saved_model/*", "*/saved_model/*/*"],
    },
    include_package_data=True,
    install_requires=[
        "tensorflow>=2.16",
        "keras>=3",
        "tensorflow-datasets",
        "keras-tuner",
        "numpy",
        "pandas",
    ],
    extras_require={
        "plots": ["matplotlib"],
        "hub": ["keras-hub"],  # KerasHub backbones (backbone="keras_hub:<preset>")
        "bayesian": ["scipy"],  # keras-tuner's BayesianOptimization (hier-keras tune --tuner bayesian)
        "notebooks": ["matplotlib", "nbclient", "nbformat", "ipykernel", "jupytext"],
        "dev": ["pytest", "pytest-xdist", "matplotlib", "nbclient", "nbformat", "ipykernel",
                "jupytext", "ruff", "hypothesis", "keras-hub"],
    },
    entry_points={"console_scripts": ["hier-keras=hier_keras.cli:main"]},
)
