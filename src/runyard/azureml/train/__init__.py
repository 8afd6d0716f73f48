"""`azureml.train`: estimators (`estimator.Estimator`, `dnn.TensorFlow`, `dnn.PyTorch`)."""
